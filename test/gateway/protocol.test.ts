import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseClientFrame, DEFAULT_FRAME_LIMITS, messageJson, laggedJson } from '../../src/gateway/protocol.js';
import { GatewayError, WIRE_CODES } from '../../src/gateway/errors.js';

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof GatewayError, `expected GatewayError, got ${String(err)}`);
    return err.wire;
  }
  return 'none';
}

test('parses every client frame type', () => {
  assert.deepEqual(parseClientFrame('{"type":"subscribe","id":1,"channels":["a","b"]}'), { type: 'subscribe', id: 1, channels: ['a', 'b'] });
  assert.deepEqual(parseClientFrame('{"type":"subscribe","channel":"a","since":"1700000000000-3"}'), { type: 'subscribe', channels: ['a'], since: '1700000000000-3' });
  assert.deepEqual(parseClientFrame('{"type":"psubscribe","id":"x","patterns":["stats.*"]}'), { type: 'psubscribe', id: 'x', patterns: ['stats.*'] });
  assert.deepEqual(parseClientFrame('{"type":"unsubscribe","channels":["a"]}'), { type: 'unsubscribe', channels: ['a'] });
  assert.deepEqual(parseClientFrame('{"type":"punsubscribe","pattern":"p*"}'), { type: 'punsubscribe', patterns: ['p*'] });
  assert.deepEqual(parseClientFrame('{"type":"publish","channel":"c","data":"hi"}'), { type: 'publish', channel: 'c', data: 'hi' });
  assert.deepEqual(parseClientFrame('{"type":"publish","channel":"c","data":{"n":1}}'), { type: 'publish', channel: 'c', data: '{"n":1}' });
  assert.deepEqual(parseClientFrame('{"type":"ping","id":7}'), { type: 'ping', id: 7 });
  assert.deepEqual(parseClientFrame(Buffer.from('{"type":"auth","token":"t"}')), { type: 'auth', token: 't' });
  // Duplicates collapse; unknown extra fields are ignored (forward compatible).
  assert.deepEqual(parseClientFrame('{"type":"subscribe","channels":["a","a"],"extra":true}'), { type: 'subscribe', channels: ['a'] });
});

test('refuses malformed frames with a wire code and echoes a readable id', () => {
  assert.equal(code(() => parseClientFrame('not json')), 'bad_json');
  assert.equal(code(() => parseClientFrame('[1,2]')), 'bad_frame');
  assert.equal(code(() => parseClientFrame('null')), 'bad_frame');
  assert.equal(code(() => parseClientFrame('{"id":1}')), 'bad_frame');
  assert.equal(code(() => parseClientFrame('{"type":"nope"}')), 'unknown_type');
  assert.equal(code(() => parseClientFrame('{"type":"subscribe","channels":[]}')), 'bad_frame');
  assert.equal(code(() => parseClientFrame('{"type":"subscribe","channels":[1]}')), 'bad_channel');
  assert.equal(code(() => parseClientFrame('{"type":"subscribe","channels":["a\\u0000b"]}')), 'bad_channel');
  assert.equal(code(() => parseClientFrame(`{"type":"subscribe","channels":["${'x'.repeat(300)}"]}`)), 'bad_channel');
  assert.equal(code(() => parseClientFrame('{"type":"subscribe","channels":["a"],"since":"yesterday"}')), 'bad_frame');
  assert.equal(code(() => parseClientFrame('{"type":"publish","channel":"a"}')), 'bad_frame');
  assert.equal(code(() => parseClientFrame('{"type":"ping","id":{"x":1}}')), 'bad_frame');
  assert.equal(code(() => parseClientFrame('{"type":"ping","id":1.5}')), 'bad_frame');
  assert.equal(code(() => parseClientFrame('x'.repeat(DEFAULT_FRAME_LIMITS.maxFrameBytes + 1))), 'too_large');
  assert.equal(code(() => parseClientFrame(Buffer.alloc(DEFAULT_FRAME_LIMITS.maxFrameBytes + 1, 0x20))), 'too_large');
  const many = JSON.stringify({ type: 'subscribe', channels: Array.from({ length: 101 }, (_, i) => `c${i}`) });
  assert.equal(code(() => parseClientFrame(many)), 'bad_frame');
  try {
    parseClientFrame('{"type":"subscribe","id":42,"channels":[]}');
  } catch (err) {
    assert.equal((err as GatewayError).requestId, 42);
    assert.equal((err as GatewayError).code, 'ERR_GATEWAY_BAD_FRAME');
  }
});

test('a frame\'s "__proto__" and "constructor" keys are data, not lookups', () => {
  assert.equal(code(() => parseClientFrame('{"__proto__":{"type":"ping"}}')), 'bad_frame');
  assert.equal(code(() => parseClientFrame('{"type":"subscribe","__proto__":{"channels":["a"]}}')), 'bad_frame');
  assert.deepEqual(parseClientFrame('{"type":"ping","constructor":1}'), { type: 'ping' });
});

test('server frames are JSON without raw newlines (the separator of batched frames)', () => {
  const m = messageJson(JSON.stringify('a\nb'), 'line1\nline2\u2028"q"', JSON.stringify('a*'), '1-2');
  assert.ok(!m.includes('\n'));
  assert.deepEqual(JSON.parse(m), { type: 'message', channel: 'a\nb', pattern: 'a*', id: '1-2', data: 'line1\nline2\u2028"q"' });
  assert.deepEqual(JSON.parse(laggedJson('slow_consumer', { dropped: 3 })), { type: 'lagged', reason: 'slow_consumer', dropped: 3 });
});

// ---- fuzzing: whatever arrives, a typed GatewayError or a valid frame, never another exception ----

function checkTotal(input: string | Buffer): void {
  try {
    const f = parseClientFrame(input);
    assert.ok(['subscribe', 'psubscribe', 'unsubscribe', 'punsubscribe', 'publish', 'ping', 'auth'].includes(f.type));
    if ('channels' in f) assert.ok(f.channels.length > 0 && f.channels.every((c) => typeof c === 'string' && c.length > 0));
    if ('patterns' in f) assert.ok(f.patterns.length > 0 && f.patterns.every((c) => typeof c === 'string' && c.length > 0));
  } catch (err) {
    if (!(err instanceof GatewayError)) throw err;
    assert.ok((WIRE_CODES as readonly string[]).includes(err.wire));
    assert.match(err.code, /^ERR_GATEWAY_[A-Z_]+$/);
  }
}

test('fuzz: random strings', () => {
  fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (s) => checkTotal(s)), { numRuns: 3000 });
});

test('fuzz: random bytes', () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (b) => checkTotal(Buffer.from(b))), { numRuns: 2000 });
});

test('fuzz: random JSON values', () => {
  fc.assert(fc.property(fc.jsonValue({ maxDepth: 4 }), (v) => checkTotal(JSON.stringify(v))), { numRuns: 3000 });
});

test('fuzz: frames close to valid ones', () => {
  const anyValue = fc.oneof(fc.string({ maxLength: 20 }), fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.array(fc.string({ maxLength: 10 }), { maxLength: 5 }), fc.object({ maxDepth: 1 }));
  const frame = fc.record(
    {
      type: fc.oneof(fc.constantFrom('subscribe', 'psubscribe', 'unsubscribe', 'punsubscribe', 'publish', 'ping', 'auth', 'Subscribe', ''), anyValue),
      id: anyValue,
      channels: fc.oneof(fc.array(fc.string({ unit: 'binary', maxLength: 30 }), { maxLength: 4 }), anyValue),
      channel: anyValue,
      patterns: fc.oneof(fc.array(fc.string({ maxLength: 30 }), { maxLength: 4 }), anyValue),
      data: anyValue,
      since: fc.oneof(fc.constantFrom('1-0', '99999999999999999999-1', '1-', '-1'), anyValue),
      token: anyValue,
    },
    { requiredKeys: [] },
  );
  fc.assert(fc.property(frame, (f) => checkTotal(JSON.stringify(f))), { numRuns: 5000 });
});
