/**
 * LZF decompression (liblzf lzf_d.c), the only compression RDB strings use (RDB_ENC_LZF).
 *
 * Pure: bytes in, bytes out. Every read and write is bounds-checked because the input may be
 * corrupt; a block that does not expand to exactly `outLength` bytes is an error, as in Redis
 * (rdbLoadLzfStringObject treats a short result as corruption).
 */
import { EncodingError } from '../errors.js';

/** Decompresses `src[start..end)` into a new Buffer of exactly `outLength` bytes. */
export function lzfDecompress(src: Buffer, start: number, end: number, outLength: number): Buffer {
  const out = Buffer.allocUnsafe(outLength);
  let ip = start;
  let op = 0;
  while (ip < end) {
    const ctrl = src[ip++]!;
    if (ctrl < 32) {
      // Literal run of ctrl + 1 bytes.
      const n = ctrl + 1;
      if (op + n > outLength) throw corrupt('literal run past the declared length');
      if (ip + n > end) throw corrupt('literal run past the end of the block');
      // At most 32 bytes: a loop beats Buffer#copy's per-call cost (measured: the copy calls were
      // a third of decompression time).
      for (let i = 0; i < n; i++) out[op + i] = src[ip + i]!;
      ip += n;
      op += n;
    } else {
      // Back reference: length (ctrl >> 5) + 2, distance from the low 5 bits and the next byte.
      let len = ctrl >> 5;
      if (ip >= end) throw corrupt('back reference cut short');
      if (len === 7) {
        len += src[ip++]!;
        if (ip >= end) throw corrupt('back reference cut short');
      }
      const ref = op - ((ctrl & 0x1f) << 8) - 1 - src[ip++]!;
      len += 2;
      if (op + len > outLength) throw corrupt('back reference past the declared length');
      if (ref < 0) throw corrupt('back reference before the start of the output');
      // Byte by byte when the source overlaps the bytes being written (run-length copies).
      if (len > 16 && ref + len <= op) out.copyWithin(op, ref, ref + len);
      else for (let i = 0; i < len; i++) out[op + i] = out[ref + i]!;
      op += len;
    }
  }
  if (op !== outLength) throw corrupt(`expanded to ${op} bytes, ${outLength} declared`);
  return out;
}

function corrupt(what: string): EncodingError {
  return new EncodingError('ERR_RDB_LZF_CORRUPT', `LZF block corrupt: ${what}`);
}
