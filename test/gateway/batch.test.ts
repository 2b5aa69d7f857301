import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as wsModule from 'ws';
import type { EventEmitter } from 'node:events';
import { Batch, textFrame } from '../../src/gateway/batch.js';

// ws's own frame builder and parser (lib/sender.js, lib/receiver.js), the reference.
// (ws's ESM entry exports them; @types/ws does not declare them.)
const { Sender, Receiver } = wsModule as unknown as {
  Sender: { frame(data: Buffer, options: object): Buffer[] };
  Receiver: new (options: object) => EventEmitter & { write(chunk: Buffer): void };
};

test('textFrame is byte for byte what ws frames, at every length encoding', () => {
  for (const n of [0, 1, 125, 126, 65535, 65536, 200_000]) {
    const text = 'é'.repeat(Math.floor(n / 2)) + 'x'.repeat(n % 2);
    const payload = Buffer.from(text);
    const theirs = Buffer.concat(Sender.frame(payload, { fin: true, rsv1: false, opcode: 1, mask: false, readOnly: true }));
    assert.deepEqual(textFrame(text), theirs, `length ${payload.length}`);
  }
});

test('a client-side ws Receiver reads a batch frame back as the joined messages', async () => {
  const b = new Batch();
  b.add('{"type":"message","channel":"a","data":"1"}');
  b.add('{"type":"message","channel":"a","data":"2\\n"}');
  const r = new Receiver({ isServer: false });
  const got = new Promise<string>((resolve) => r.on('message', (data: Buffer) => resolve(data.toString())));
  r.write(b.encoded('frame'));
  const text = await got;
  assert.deepEqual(text.split('\n').map((l) => JSON.parse(l).data), ['1', '2\n']);
  assert.equal(b.encoded('frame'), b.encoded('frame'), 'built once');
});
