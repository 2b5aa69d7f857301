/**
 * The Target contract for the memory mirror and the JSON-lines target, plus what is particular to
 * JSON lines: resuming after a crash mid-line and mid-snapshot.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JsonlTarget, MemoryMirror } from '../../src/replication/index.js';
import { targetContract, snapshotKeys, type Dump } from './target-contract.js';

function dumpMirror(m: MemoryMirror): Dump {
  const out: Dump = {};
  for (let db = 0; db < 16; db++) {
    for (const k of m.keys('*', db)) {
      const type = m.type(k, db);
      const ttl = m.pttl(k, db);
      const value =
        type === 'string' ? m.get(k, db)!.toString()
          : type === 'list' ? m.lrange(k, 0, -1, db).map(String)
            : type === 'set' ? m.smembers(k, db).map(String).sort()
              : type === 'hash' ? m.hgetall(k, db).map(([f, v]) => [String(f), String(v)]).sort()
                : m.zrange(k, 0, -1, db).map(([x, s]) => [String(x), s]);
      // The contract's TTLs are absolute: read them back as such, to the second.
      out[`${db}/${k}`] = { type, value, expiresAt: ttl < 0 ? null : ttl };
    }
  }
  for (const v of Object.values(out)) if (v.expiresAt !== null) v.expiresAt = Math.round((Date.now() + v.expiresAt) / 10_000) * 10_000;
  return out;
}

targetContract<MemoryMirror>({
  name: 'MemoryMirror',
  open: () => new MemoryMirror({ sweepIntervalMs: 0 }),
  persistent: false,
  dump: (m) => dumpMirror(m),
});

targetContract<JsonlTarget>({
  name: 'JsonlTarget (file)',
  open: (dir) => new JsonlTarget({ file: join(dir, 'out.jsonl') }),
  persistent: true,
});

test('jsonl: a half-written last line is cut off; a snapshot cut short gets an abort line and the earlier position', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'redstack-jsonl-'));
  const file = join(dir, 'out.jsonl');
  try {
    let t = new JsonlTarget({ file });
    assert.equal(t.open(), undefined);
    await t.beginFullSync({ replid: 'r'.repeat(40), offset: 5, transfer: 'disk', bytes: 1 });
    await t.applyKeys(snapshotKeys());
    await t.endFullSync({ replid: 'r'.repeat(40), offset: 5 });
    await t.applyCommands([{ db: 0, name: 'SET', args: [Buffer.from('k'), Buffer.from([0xc3, 0x28])], offset: 40 }], { replid: 'r'.repeat(40), offset: 40 });
    await t.close();
    appendFileSync(file, '{"type":"command","db":0,"name":"SE');
    t = new JsonlTarget({ file });
    assert.deepEqual(t.open(), { replid: 'r'.repeat(40), offset: 40 });
    const lines = readFileSync(file, 'utf8').split('\n');
    assert.equal(lines.at(-1), '', 'the partial line is gone');
    assert.deepEqual(JSON.parse(lines.at(-2)!).args, ['k', { base64: 'wyg=' }]);
    await t.beginFullSync({ replid: 's'.repeat(40), offset: 9, transfer: 'diskless', bytes: undefined });
    await t.applyKeys(snapshotKeys().slice(0, 2));
    await t.close(); // a crash mid-snapshot
    t = new JsonlTarget({ file });
    assert.deepEqual(t.open(), { replid: 'r'.repeat(40), offset: 40 });
    assert.equal(JSON.parse(readFileSync(file, 'utf8').trim().split('\n').at(-1)!).type, 'abort');
    await t.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
