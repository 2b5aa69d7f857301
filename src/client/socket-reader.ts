/**
 * Socket reads without the stream machinery, through net's documented `onread` option: Node reads
 * into memory we hand it and calls us with the byte count. No 'data' event, no Readable buffering,
 * and no new Buffer per read:
 *
 * - the same scratch memory is read into again and again: after each chunk the decoder copies the
 *   few bytes of a reply it could not finish yet (RespDecoder.detach) and keeps nothing else;
 * - the scratch starts small and doubles (up to MAX_READ) while reads fill it, so an idle
 *   connection holds 16 KiB and a busy one reads up to 256 KiB per system call;
 * - while a large bulk string is being received, the kernel reads straight into the Buffer that
 *   will hold it (RespDecoder.bulkTail), so the rest of a big value is not copied again;
 * - with returnBuffers (replies are views of what was read), every read gets fresh memory.
 *
 * TLS sockets do not support `onread`; they keep the 'data' event.
 */
import type { RespDecoder } from '../resp/index.js';

/** First scratch size. */
const MIN_READ = 16 * 1024;
/** Largest scratch: reads that fill 256 KiB are rare, and bigger ones gain little. */
const MAX_READ = 256 * 1024;
/** A bulk tail at least this long is read into directly; a shorter one is not worth its own read. */
const DIRECT_MIN = 8 * 1024;

export interface OnRead {
  buffer: () => Buffer;
  /** Always true: keep reading (false would pause the socket). */
  callback: (nread: number, buf: Buffer) => boolean;
}

/**
 * `onread` options for net.connect.
 * @param decoder the decoder the socket feeds, or null while the socket is not (or no longer) the
 *   connection's current one.
 * @param feed handles each chunk read (a view of the memory read into, valid until feed returns
 *   unless the decoder keeps it, which the next buffer() call settles).
 * @param reuse false when decoded replies may be views of the input (returnBuffers).
 */
export function socketReader(decoder: () => RespDecoder | null, feed: (chunk: Buffer) => void, reuse: boolean): OnRead {
  let scratch: Buffer | null = null;
  let size = MIN_READ;
  return {
    buffer: () => {
      const d = decoder();
      if (d !== null) {
        const tail = d.bulkTail();
        if (tail !== null && tail.length >= DIRECT_MIN) return tail;
        if (reuse && scratch !== null && scratch.length === size && d.detach()) return scratch;
      }
      scratch = Buffer.allocUnsafeSlow(size);
      return scratch;
    },
    callback: (nread, buf) => {
      if (buf === scratch && nread === size && size < MAX_READ) size *= 2;
      feed(buf.subarray(0, nread));
      return true;
    },
  };
}
