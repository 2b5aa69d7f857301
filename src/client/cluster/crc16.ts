/**
 * Key -> hash slot, as Redis Cluster computes it: CRC16 (XMODEM: poly 0x1021, init 0, no reflection)
 * of the key, or of its hash tag, modulo 16384.
 *
 * Hash tag: the bytes between the first '{' and the first '}' after it, when there is at least one
 * byte between them. `{user1000}.following` and `{user1000}.followers` share a slot; `{}x` and
 * `x{}` hash the whole key (an empty tag is no tag); `{{a}}` hashes `{a`.
 */

export const SLOT_COUNT = 16384;

const TABLE = new Uint16Array(256);
for (let i = 0; i < 256; i++) {
  let crc = i << 8;
  for (let j = 0; j < 8; j++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  TABLE[i] = crc;
}

/** CRC16/XMODEM of bytes [start, end). '123456789' gives 0x31C3. */
export function crc16(data: Buffer | Uint8Array, start = 0, end = data.length): number {
  let crc = 0;
  for (let i = start; i < end; i++) crc = ((crc << 8) & 0xffff) ^ TABLE[((crc >> 8) ^ data[i]!) & 0xff]!;
  return crc;
}

/** Same over the char codes of an ASCII string (every code < 0x80), so no Buffer is allocated. */
function crc16Ascii(s: string, start: number, end: number): number {
  let crc = 0;
  for (let i = start; i < end; i++) crc = ((crc << 8) & 0xffff) ^ TABLE[((crc >> 8) ^ s.charCodeAt(i)) & 0xff]!;
  return crc;
}

function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return false;
  return true;
}

/** The hash slot (0..16383) of a key; strings hash as their UTF-8 bytes, numbers as their decimal text. */
export function keySlot(key: string | Buffer | Uint8Array | number): number {
  if (typeof key === 'number') key = String(key);
  if (typeof key === 'string') {
    if (!isAscii(key)) return keySlot(Buffer.from(key, 'utf8'));
    const open = key.indexOf('{');
    if (open !== -1) {
      const close = key.indexOf('}', open + 1);
      if (close > open + 1) return crc16Ascii(key, open + 1, close) & (SLOT_COUNT - 1);
    }
    return crc16Ascii(key, 0, key.length) & (SLOT_COUNT - 1);
  }
  const open = key.indexOf(0x7b); // '{'
  if (open !== -1) {
    const close = key.indexOf(0x7d, open + 1); // '}'
    if (close > open + 1) return crc16(key, open + 1, close) & (SLOT_COUNT - 1);
  }
  return crc16(key) & (SLOT_COUNT - 1);
}
