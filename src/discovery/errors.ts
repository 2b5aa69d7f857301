/**
 * Errors of the discovery registry. Callers branch on `code`:
 *   ERR_DISCOVERY_META            metadata is not plain JSON (function, bigint, cycle, NaN, class instance...),
 *                                 uses a reserved field, or looks like it carries credentials
 *   ERR_DISCOVERY_META_TOO_LARGE  serialised metadata over maxMetaBytes (64 KiB by default)
 *   ERR_DISCOVERY_OPTION          a joinGrid option is out of range
 *   ERR_DISCOVERY_CLOSED          the grid has left; it cannot be used again
 * Messages name the field path or the option to change, never the offending value (it may be a secret).
 */
import { RedstackError } from '../errors.js';

export type DiscoveryErrorCode = 'ERR_DISCOVERY_META' | 'ERR_DISCOVERY_META_TOO_LARGE' | 'ERR_DISCOVERY_OPTION' | 'ERR_DISCOVERY_CLOSED';

export class DiscoveryError extends RedstackError {
  declare readonly code: DiscoveryErrorCode;
  /** For metadata errors: where in the metadata the problem is, e.g. 'meta.tags[2]'. */
  readonly path: string | undefined;

  constructor(code: DiscoveryErrorCode, message: string, fields: { path?: string; cause?: unknown } = {}) {
    super(code, message, fields.cause === undefined ? undefined : { cause: fields.cause });
    this.path = fields.path;
  }
}
