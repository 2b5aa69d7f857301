import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { Authorizer, createToken, verifyToken } from '../../src/gateway/auth.js';
import { TokenError } from '../../src/gateway/errors.js';
import { globContains, globMatch } from '../../src/gateway/glob.js';

const NOW = 1_700_000_000_000;

function reason(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof TokenError);
    assert.equal(err.code, 'ERR_GATEWAY_UNAUTHORIZED');
    return err.reason;
  }
  return 'none';
}

test('a token round-trips its grants and expiry', () => {
  const t = createToken('s3cret', { subject: 'ann', subscribe: ['stats.*'], publish: ['chat.room1'], expiresInSec: 60 }, NOW);
  const g = verifyToken('s3cret', t, NOW + 1000);
  assert.deepEqual(g, { token: true, subject: 'ann', expiresAt: NOW + 60_000, subscribe: ['stats.*'], publish: ['chat.room1'] });
  assert.ok(!t.includes('s3cret'));
});

test('expired, not-yet-valid, tampered, foreign and malformed tokens are refused with a reason', () => {
  const t = createToken('k', { subscribe: ['*'], expiresInSec: 10 }, NOW);
  assert.equal(reason(() => verifyToken('k', t, NOW + 10_001)), 'expired');
  assert.equal(reason(() => verifyToken('other', t, NOW)), 'signature');
  const [p, body, sig] = t.split('.');
  const forged = Buffer.from(JSON.stringify({ exp: 9e9, subscribe: ['*'], publish: ['*'] })).toString('base64url');
  assert.equal(reason(() => verifyToken('k', `${p}.${forged}.${sig}`, NOW)), 'signature');
  assert.equal(reason(() => verifyToken('k', `${p}.${body}.`, NOW)), 'signature');
  assert.equal(reason(() => verifyToken('k', 'garbage', NOW)), 'malformed');
  assert.equal(reason(() => verifyToken('k', 'rs1.', NOW)), 'malformed');
  const later = createToken('k', { subscribe: ['*'], notBefore: NOW + 5000 }, NOW);
  assert.equal(reason(() => verifyToken('k', later, NOW)), 'not_yet_valid');
  // A signed payload without expiry is refused: every token expires.
  const noExp = 'rs1.' + Buffer.from('{"subscribe":["*"]}').toString('base64url');
  const sig2 = createHmac('sha256', 'k').update(noExp).digest('base64url');
  assert.equal(reason(() => verifyToken('k', `${noExp}.${sig2}`, NOW)), 'malformed');
});

test('secret rotation: any configured secret verifies, the first signs', () => {
  const old = createToken('old', { subscribe: ['a'] }, NOW);
  const fresh = createToken(['new', 'old'], { subscribe: ['a'] }, NOW);
  assert.equal(verifyToken(['new', 'old'], old, NOW).token, true);
  assert.equal(verifyToken('new', fresh, NOW).token, true);
});

test('fuzz: verifyToken never throws anything but TokenError', () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 200 }), (s) => {
      for (const input of [s, 'rs1.' + s, 'rs1.' + s + '.' + s]) {
        try {
          verifyToken('k', input, NOW);
          assert.fail('accepted a random token');
        } catch (err) {
          assert.ok(err instanceof TokenError);
        }
      }
    }),
    { numRuns: 2000 },
  );
});

test('Redis glob semantics', () => {
  assert.ok(globMatch('stats.*', 'stats.router'));
  assert.ok(globMatch('stats.*', 'stats.'));
  assert.ok(globMatch('stats.*', 'stats.a.b'));
  assert.ok(!globMatch('stats.*', 'stats'));
  assert.ok(globMatch('h?llo', 'hello'));
  assert.ok(!globMatch('h?llo', 'hllo'));
  assert.ok(globMatch('h[ae]llo', 'hallo'));
  assert.ok(!globMatch('h[ae]llo', 'hillo'));
  assert.ok(globMatch('h[^e]llo', 'hallo'));
  assert.ok(!globMatch('h[^e]llo', 'hello'));
  assert.ok(globMatch('h[a-c]llo', 'hbllo'));
  assert.ok(globMatch('a\\*b', 'a*b'));
  assert.ok(!globMatch('a\\*b', 'axb'));
  assert.ok(globMatch('a.b', 'a.b'));
  assert.ok(!globMatch('a.b', 'axb')); // '.' is literal, not a regex wildcard
  assert.ok(!globMatch('(a|b)', 'a'));
});

test('pattern containment for psubscribe grants is conservative', () => {
  assert.ok(globContains('stats.*', 'stats.*'));
  assert.ok(globContains('stats.*', 'stats.router.*'));
  assert.ok(globContains('stats.*', 'stats.r?uter'));
  assert.ok(globContains('*', 'anything*'));
  assert.ok(!globContains('stats.*', '*'));
  assert.ok(!globContains('stats.*', 'stat*'));
  assert.ok(!globContains('stats.*', 's[t]ats.*')); // could be contained, but not provably by the prefix rule
  assert.ok(!globContains('stats.?', 'stats.a*'));
  assert.ok(!globContains('a', 'a*'));
});

test('Authorizer: anonymous patterns, tokens adding to them, and refusals', () => {
  const auth = new Authorizer({ secret: 'k', anonymousRead: ['public.*'] });
  const anon = auth.grantsFor(undefined);
  assert.ok(auth.canSubscribe(anon, 'public.news'));
  assert.ok(!auth.canSubscribe(anon, 'private.x'));
  assert.ok(!auth.canPublish(anon, 'public.news'));
  const t = createToken('k', { subscribe: ['private.*'], publish: ['private.chat'] });
  const g = auth.grantsFor(t);
  assert.ok(auth.canSubscribe(g, 'private.x'));
  assert.ok(auth.canSubscribe(g, 'public.news'));
  assert.ok(auth.canPublish(g, 'private.chat'));
  assert.ok(!auth.canPublish(g, 'private.other'));
  assert.ok(auth.canPSubscribe(g, 'private.a*'));
  assert.ok(!auth.canPSubscribe(g, 'p*'));
  assert.throws(() => auth.grantsFor('rs1.x.y'), TokenError);
  assert.throws(() => new Authorizer({ anonymousRead: ['*'] }).grantsFor(t), TokenError); // no secret: no tokens
});
