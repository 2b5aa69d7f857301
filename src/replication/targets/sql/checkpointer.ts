/**
 * A thread that checkpoints a SQLite database in WAL mode, so that the replica's thread never does.
 *
 * Why: SQLite checkpoints inside the COMMIT that pushes the WAL past `wal_autocheckpoint` pages, and
 * a checkpoint copies pages into the database file and fsyncs it. After a full sync that is the
 * whole dataset (seconds); in the stream it is an fsync every few thousand writes (tens of ms on a
 * busy disk). Either way the replica stops reading the master meanwhile. The target turns
 * autocheckpoints off on its own connection, and this worker, with a connection of its own, runs
 * PRAGMA wal_checkpoint(PASSIVE) every `everyMs`: PASSIVE never waits for, nor blocks, the writer.
 *
 * The worker is plain JavaScript (eval'd), loading better-sqlite3 from the path resolved here.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

const CODE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.module);
const db = new Database(workerData.path);
db.pragma('busy_timeout = 100');
let timer;
const run = () => {
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
  } catch (err) {
    parentPort.postMessage({ error: String(err && err.message) });
  }
  timer = setTimeout(run, workerData.everyMs);
};
parentPort.on('message', (m) => {
  if (m !== 'stop') return;
  clearTimeout(timer);
  db.close();
  parentPort.close();
});
run();
`;

export class Checkpointer {
  readonly #worker: Worker;
  readonly #exited: Promise<void>;
  /** The last error the worker reported (a checkpoint that failed; retried at the next tick). */
  lastError: string | undefined;

  constructor(path: string, everyMs = 200) {
    const module = createRequire(import.meta.url).resolve('better-sqlite3');
    this.#worker = new Worker(CODE, { eval: true, workerData: { module, path, everyMs } });
    this.#worker.on('message', (m: { error?: string }) => {
      if (m.error) this.lastError = m.error;
    });
    this.#worker.on('error', (err) => {
      this.lastError = err.message;
    });
    this.#exited = new Promise((resolve) => this.#worker.once('exit', () => resolve()));
    // It must not keep the process alive on its own.
    this.#worker.unref();
  }

  /**
   * Stops the worker; resolves once its thread has ended. Its connection may be the database's last,
   * and the last one to close checkpoints the WAL and deletes the -wal and -shm files: until then the
   * files are still changing (a caller removing the directory at once could fail with ENOTEMPTY).
   */
  stop(): Promise<void> {
    this.#worker.postMessage('stop');
    return this.#exited;
  }
}
