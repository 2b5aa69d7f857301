/**
 * The root of every error redstack throws or emits.
 *
 * Callers branch on `code` (stable, documented per subclass), never on `message`. Errors carry
 * structured fields (offsets, hosts, command names) but never argument values: those may be secrets.
 * `instanceof` is keyed on a Symbol.for brand so that two installed copies of redstack recognise
 * each other's errors (the same trick undici uses).
 */
const BRAND = Symbol.for('redstack.error');

export class RedstackError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }

  get [BRAND](): true {
    return true;
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    if (this === RedstackError) {
      return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
    }
    return Function.prototype[Symbol.hasInstance].call(this, value);
  }
}

/** True when `err` is a RedstackError with the given code. */
export function hasCode(err: unknown, code: string): boolean {
  return err instanceof RedstackError && err.code === code;
}
