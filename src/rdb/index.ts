/**
 * redstack/rdb: a streaming parser for Redis (and Valkey) RDB files and replication payloads,
 * versions 1-12 (and Valkey 80/81), every type and opcode Redis has written.
 *
 * Two ways to use it, one parser underneath:
 *
 * 1. Push (for sockets, replication): construct, write chunks, end.
 *
 *      const p = new RdbParser({ onEvent(ev) { if (ev.kind === 'key') ... } });
 *      socket.on('data', (chunk) => { if (!p.write(chunk)) socket.pause(); });
 *      // in onEvent, a slow consumer may p.pause(); later p.resume() parses what was buffered
 *      // and calls onDrain, where the socket can be resumed.
 *      socket.on('end', () => p.end());
 *
 *    Events are delivered synchronously from write()/resume(), in file order, each exactly once.
 *    Errors (RdbError, with `code`, `offset`, `element`, `key`) are thrown from write(), resume()
 *    or end(); after one, the parser stays failed and rethrows it. An error thrown by onEvent is
 *    rethrown as is. pause() takes effect after the current event (a value split into parts by
 *    `partItems` from one encoded blob is emitted whole). The `end` event fires as soon as the EOF opcode and
 *    its checksum are consumed; `end.bytes` and `bytesConsumed` give the RDB's exact length, bytes
 *    written after it are ignored (counted in `trailingBytes`, the rest of the final chunk is in
 *    `remainder()`): in diskless replication, the parser's end is the end of the payload.
 *
 * 2. Pull (files, streams): `for await (const ev of parseRdb(createReadStream(file), opts))`.
 *    Reading stops while the loop body runs (backpressure through the async iterator); events
 *    decoded before an error are yielded before the error is thrown.
 *
 * Memory is bounded by the largest single value (or by `partItems` for big lists, sets, hashes,
 * sorted sets and streams), never by the file. Values come as plain JS: see RdbKeyEvent.
 */
import { RdbParser } from './parser.js';
import type { RdbEvent, RdbParserOptions } from './types.js';

export { RdbParser } from './parser.js';
export { RdbError, type RdbErrorCode } from './errors.js';
export { Crc64, crc64Hex } from './crc64.js';
export { rdbTypeName, RDB_VERSION, type RdbDataType } from './constants.js';
export { parseFunctionHeader } from './encodings/function.js';
export { decodeEncoded } from './values.js';
export type * from './types.js';

/** Largest piece of a source chunk parsed at once (a 1 GB Buffer must not queue 10 M events). */
const MAX_SLICE = 1 << 20;

/** Options of parseRdb: the parser's, without the push callbacks. */
export type ParseRdbOptions = Omit<RdbParserOptions, 'onEvent' | 'onDrain'>;

/**
 * Parses an RDB from a Readable or any async iterable of byte chunks, yielding events in order.
 * Stops reading the source after the end event (trailing bytes are left unread). Throws an
 * RdbError on bad or truncated input.
 */
export async function* parseRdb(source: AsyncIterable<Uint8Array | string>, opts: ParseRdbOptions = {}): AsyncGenerator<RdbEvent, void, undefined> {
  let batch: RdbEvent[] = [];
  const parser = new RdbParser({ ...opts, onEvent: (ev) => void batch.push(ev) });
  let failure: unknown;
  try {
    for await (const input of source) {
      const chunk = typeof input === 'string' ? Buffer.from(input, 'latin1') : input;
      // Events wait in `batch` until the loop body takes them: slicing big chunks bounds how many.
      for (let at = 0; at < chunk.length && !parser.finished; at += MAX_SLICE) {
        parser.write(chunk.subarray(at, at + MAX_SLICE));
        if (batch.length > 0) {
          const out = batch;
          batch = [];
          for (let i = 0; i < out.length; i++) yield out[i]!;
        }
      }
      if (parser.finished) break;
    }
    parser.end();
  } catch (err) {
    failure = err;
  }
  for (let i = 0; i < batch.length; i++) yield batch[i]!;
  if (failure !== undefined) throw failure;
}
