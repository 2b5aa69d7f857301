/**
 * Function libraries (RDB_OPCODE_FUNCTION2) are stored as their source, which starts with a
 * shebang line naming the engine and the library: `#!lua name=mylib [other=...]`.
 */

export interface FunctionHeader {
  engine: string;
  name: string;
}

/** Reads the engine and library name from a library's source, or undefined if it has no shebang. */
export function parseFunctionHeader(code: Uint8Array): FunctionHeader | undefined {
  let end = code.indexOf(0x0a);
  if (end < 0) end = code.length;
  const line = Buffer.from(code.buffer, code.byteOffset, end).toString('utf8');
  const m = /^#!(\S+)(.*)$/.exec(line);
  if (!m) return undefined;
  const name = /(?:^|\s)name=(\S+)/.exec(m[2]!);
  return name ? { engine: m[1]!, name: name[1]! } : undefined;
}
