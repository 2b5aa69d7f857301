/**
 * Socket reads without the stream machinery, through net's documented `onread` option: Node reads
 * into memory we hand it and calls us with the byte count. No 'data' event, no Readable buffering,
 * and no new 64 KiB Buffer per read:
 *
 * - while the decoder keeps nothing of what it was given (idle, and replies decoded to strings),
 *   the same scratch memory is read into again and again;
 * - while a large bulk string is being received, the kernel reads straight into the Buffer that
 *   will hold it (RespDecoder.bulkTail), so a 100 KB value is copied once, not three times;
 * - otherwise (the decoder kept part of a chunk, or Buffers were handed to callers) fresh memory.
 *
 * TLS sockets do not support `onread`; they keep the 'data' event.
 */
import type { RespDecoder } from '../resp/index.js';

/** Size of each read into scratch memory (as Node's own stream reads). */
const READ_SIZE = 64 * 1024;

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
 *   unless the decoder keeps it, which the next buffer() call checks).
 * @param reuse false when decoded replies may be views of the input (returnBuffers).
 */
export function socketReader(decoder: () => RespDecoder | null, feed: (chunk: Buffer) => void, reuse: boolean): OnRead {
  let scratch: Buffer | null = null;
  return {
    buffer: () => {
      const d = decoder();
      if (d !== null) {
        const tail = d.bulkTail();
        if (tail !== null && tail.length >= DIRECT_MIN) return tail;
        if (reuse && scratch !== null && d.idle) return scratch;
      }
      scratch = Buffer.allocUnsafeSlow(READ_SIZE);
      return scratch;
    },
    callback: (nread, buf) => {
      feed(buf.subarray(0, nread));
      return true;
    },
  };
}
