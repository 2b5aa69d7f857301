/**
 * The memory mirror's command table: every write command a Redis 7 master propagates, by name, to
 * the function that applies it (one file per data-type family). A name not in the table, or a form a
 * handler refuses, is reported back as unhandled, never guessed at.
 */
import { keyCommands } from './apply-keys.js';
import { stringCommands } from './apply-strings.js';
import { bitCommands } from './apply-bits.js';
import { listCommands } from './apply-lists.js';
import { setHashCommands } from './apply-sets-hashes.js';
import { zsetCommands } from './apply-zsets.js';
import { streamCommands } from './apply-streams.js';
import { restore } from './load.js';
import { sort } from './apply-sort.js';
import { hllCommands } from './apply-hll.js';
import { geoCommands } from './apply-geo.js';
import { Unhandled, type Ctx, type Handler } from './context.js';
import type { Dataset } from './dataset.js';

const TABLE: Record<string, Handler> = {
  ...keyCommands,
  ...stringCommands,
  ...bitCommands,
  ...listCommands,
  ...setHashCommands,
  ...zsetCommands,
  ...streamCommands,
  RESTORE: restore,
  // What a cluster's key migration sends; the same payload and options as RESTORE.
  'RESTORE-ASKING': restore,
  ...hllCommands(),
  ...geoCommands,
  SORT: sort,
};

/**
 * Applies one command to `ds`. Throws Unhandled (with the reason) when the mirror cannot apply it;
 * the dataset is then unchanged unless the handler had already partly applied it (multi-key forms
 * check before they change anything).
 */
export function applyCommand(ds: Dataset, dbIndex: number, name: string, args: Buffer[], now: number): void {
  const h = TABLE[name];
  if (!h) throw new Unhandled(`the mirror does not know ${name}`);
  const c: Ctx = { ds, dbIndex, db: ds.db(dbIndex), now };
  h(c, args);
}
