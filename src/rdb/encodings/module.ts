/**
 * Module type ids (redis src/module.c moduleTypeEncodeId): a 64-bit number holding a nine-character
 * name in 6-bit symbols (most significant first) and a 10-bit encoding version in the low bits.
 */
const CHARSET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

export interface ModuleTypeId {
  /** The module type name, e.g. 'test__rdb', 'hellotype', 'graphdata'. */
  name: string;
  /** The module's own encoding version for this value. */
  encver: number;
}

/** Splits a module type id into its name and encoding version. */
export function decodeModuleId(id: bigint): ModuleTypeId {
  let name = '';
  for (let i = 0; i < 9; i++) name += CHARSET[Number((id >> BigInt(64 - 6 * (i + 1))) & 63n)];
  return { name, encver: Number(id & 1023n) };
}
