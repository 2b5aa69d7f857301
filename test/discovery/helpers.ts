/**
 * Helpers for the discovery tests: child-process grid nodes (test/fixtures/discovery/node.ts) whose
 * JSON event lines are collected with timestamps, and waiting on conditions.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';

const FIXTURE = fileURLToPath(new URL('../fixtures/discovery/node.ts', import.meta.url));

export interface Line {
  ev: string;
  t: number;
  id?: string;
  meta?: Record<string, unknown>;
  reason?: string;
  nodes?: { id: string; meta: Record<string, unknown>; suspect?: string | null }[];
  [k: string]: unknown;
}

export class NodeProcess {
  readonly lines: Line[] = [];
  readonly child: ChildProcess;
  readonly id: string;
  #waiters = new Set<() => void>();
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(id: string, cfg: Record<string, unknown>) {
    this.id = id;
    this.child = spawn(process.execPath, ['--import', 'tsx', FIXTURE, JSON.stringify({ ...cfg, id })], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    createInterface({ input: this.child.stdout! }).on('line', (l) => {
      try {
        this.lines.push(JSON.parse(l) as Line);
      } catch {
        return;
      }
      for (const w of this.#waiters) w();
    });
    this.exited = new Promise((resolve) => this.child.once('exit', (code, signal) => resolve({ code, signal })));
  }

  send(line: string): void {
    this.child.stdin!.write(line + '\n');
  }

  /** Resolves with the first line (from the start) matching `pred`. */
  waitFor(pred: (l: Line) => boolean, timeoutMs = 10_000, what = 'line'): Promise<Line> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const hit = this.lines.find(pred);
        if (hit) {
          this.#waiters.delete(check);
          clearTimeout(timer);
          resolve(hit);
        }
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(check);
        reject(new Error(`${this.id}: no ${what} within ${timeoutMs} ms; got ${JSON.stringify(this.lines.map((l) => [l.ev, l.id]))}`));
      }, timeoutMs);
      this.#waiters.add(check);
      check();
    });
  }

  kill(sig: NodeJS.Signals = 'SIGKILL'): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(sig);
  }
}

export const wallNow = (): number => performance.timeOrigin + performance.now();

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls until `cond` holds; returns the ms it took. */
export async function waitFor(cond: () => boolean, timeoutMs: number, what: string): Promise<number> {
  const t0 = performance.now();
  while (!cond()) {
    if (performance.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(5);
  }
  return performance.now() - t0;
}
