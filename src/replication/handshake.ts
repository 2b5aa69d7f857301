/**
 * The replica side of the replication handshake, as Redis's own replica does it (replication.c
 * syncWithMaster), one named step and one pair of functions (send, read the reply) per step:
 *
 *   connect ─> PING ─> AUTH ─> REPLCONF listening-port ─> REPLCONF capa ─> [REPLCONF rdb-only |
 *   rdb-filter-only] ─> PSYNC ─> (FULLRESYNC | CONTINUE | try later | SYNC fallback)
 *
 * The socket is not ours: the caller writes what `write` is given and feeds every byte received to
 * feed() until it returns a result. Replies here are single lines, so the handshake reads lines, not
 * RESP: what follows the PSYNC reply (the snapshot payload or the command stream) is not RESP from its
 * first byte, and every byte after the reply line is handed back untouched as `rest`.
 *
 * Empty lines are skipped: a master may send newlines to keep the link alive before it answers PSYNC
 * (Redis documents this in slaveTryPartialResynchronization).
 */
import { encodeCommand } from '../resp/index.js';
import { ReplicationError } from './errors.js';
import type { ReplicationPosition } from './targets/target.js';

export type HandshakeStep = 'ping' | 'auth' | 'listening-port' | 'capa' | 'filter' | 'psync' | 'done';

/** What the PSYNC step ended with. */
export type HandshakeOutcome =
  /** `+FULLRESYNC <replid> <offset>`: a snapshot payload follows (after keep-alive newlines). */
  | { kind: 'fullresync'; replid: string; offset: number }
  /** `+CONTINUE [<replid>]`: the command stream follows from the offset we asked for. */
  | { kind: 'continue'; replid: string }
  /** The master has no PSYNC (before 2.8): SYNC was sent, a payload follows, no replid or offset. */
  | { kind: 'sync' }
  /** `-LOADING`, `-NOMASTERLINK`, `-BUSY`, `-MASTERDOWN`: the master cannot serve us yet; reconnect later. */
  | { kind: 'try-later'; reason: string };

export interface HandshakeResult {
  outcome: HandshakeOutcome;
  /** Bytes received after the reply line: the start of the payload or of the stream. */
  rest: Buffer;
}

export interface HandshakeOptions {
  /** Sends bytes to the master. */
  write(data: Buffer): void;
  /** ACL user (Redis 6+); with only a password, `AUTH <password>`. */
  username?: string | undefined;
  password?: string | undefined;
  /** Shown as the replica's port in the master's INFO (0 is accepted). */
  listeningPort?: number;
  /** Capabilities to announce; default eof (diskless payloads) and psync2 (replid changes on CONTINUE). */
  capa?: readonly string[];
  /** 'rdb-only': snapshot, then no stream. 'stream-only': an empty snapshot, then the stream. */
  mode?: 'full' | 'rdb-only' | 'stream-only';
  /** Where to resume from; without it, `PSYNC ? -1` asks for a full sync. */
  position?: ReplicationPosition | undefined;
}

/** Longest reply line accepted; handshake replies are a few dozen bytes. */
const MAX_LINE = 64 * 1024;

const TRY_LATER = /^-(LOADING|NOMASTERLINK|BUSY|MASTERDOWN)\b/;
/** Refusals that no retry can fix. Old masters said "operation not permitted" instead of NOAUTH. */
const AUTH_REFUSED = /^-(NOAUTH|WRONGPASS|NOPERM)\b|^-ERR (operation not permitted|invalid password|invalid username-password)/i;
/** AUTH sent to a master without a password: not an error for us (what redis-replicator does too). */
const NO_PASSWORD_SET = /without any password configured|no password is set/i;

export class Handshake {
  readonly #o: HandshakeOptions;
  #step: HandshakeStep = 'ping';
  #buf: Buffer = Buffer.alloc(0);

  constructor(options: HandshakeOptions) {
    this.#o = options;
  }

  /** The step whose reply is awaited. */
  get step(): HandshakeStep {
    return this.#step;
  }

  /** Sends the first command. Call once the socket is connected. */
  start(): void {
    this.#sendPing();
  }

  /**
   * Feeds bytes from the master. Returns the result once the PSYNC step is over, undefined while more
   * replies are awaited. Throws a ReplicationError when a reply makes going on impossible.
   */
  feed(chunk: Buffer): HandshakeResult | undefined {
    this.#buf = this.#buf.length === 0 ? chunk : Buffer.concat([this.#buf, chunk]);
    for (;;) {
      const nl = this.#buf.indexOf(0x0a);
      if (nl === -1) {
        if (this.#buf.length > MAX_LINE) throw this.#error('ERR_REPL_PROTOCOL', `a reply line longer than ${MAX_LINE} bytes`);
        return undefined;
      }
      const line = this.#buf.toString('latin1', 0, nl > 0 && this.#buf[nl - 1] === 0x0d ? nl - 1 : nl);
      this.#buf = this.#buf.subarray(nl + 1);
      if (line.length === 0) continue; // keep-alive newline
      const outcome = this.#onReply(line);
      if (outcome) {
        this.#step = 'done';
        const rest = this.#buf;
        this.#buf = Buffer.alloc(0);
        return { outcome, rest };
      }
    }
  }

  #onReply(line: string): HandshakeOutcome | undefined {
    switch (this.#step) {
      case 'ping':
        return this.#onPing(line);
      case 'auth':
        return this.#onAuth(line);
      case 'listening-port':
        return this.#onListeningPort(line);
      case 'capa':
        return this.#onCapa(line);
      case 'filter':
        return this.#onFilter(line);
      case 'psync':
        return this.#onPsync(line);
      default:
        throw this.#error('ERR_REPL_PROTOCOL', 'a reply after the handshake ended');
    }
  }

  #send(step: HandshakeStep, args: readonly string[]): undefined {
    this.#step = step;
    this.#o.write(encodeCommand(args));
    return undefined;
  }

  // -- PING: is the link usable? ---------------------------------------------------------------
  // +PONG: go on. -NOAUTH (password required): go on to AUTH when we have one, else fail.
  // -LOADING and the like: try later. Other errors: go on (very old masters answer oddly; the next
  // steps will tell).

  #sendPing(): void {
    this.#send('ping', ['PING']);
  }

  #onPing(line: string): HandshakeOutcome | undefined {
    if (TRY_LATER.test(line)) return { kind: 'try-later', reason: line.slice(1) };
    if (AUTH_REFUSED.test(line) && this.#o.password === undefined) {
      throw this.#error('ERR_REPL_AUTH', 'the master requires a password (give one in the URL or options)');
    }
    return this.#o.password !== undefined ? this.#sendAuth() : this.#sendListeningPort();
  }

  // -- AUTH [user] password ------------------------------------------------------------------------
  // +OK: go on. "no password is set": go on (the master is open). -WRONGPASS and friends: fatal.

  #sendAuth(): undefined {
    const args = this.#o.username ? ['AUTH', this.#o.username, this.#o.password!] : ['AUTH', this.#o.password!];
    return this.#send('auth', args);
  }

  #onAuth(line: string): HandshakeOutcome | undefined {
    if (line[0] === '-' && !NO_PASSWORD_SET.test(line)) {
      if (TRY_LATER.test(line)) return { kind: 'try-later', reason: line.slice(1) };
      throw this.#error('ERR_REPL_AUTH', `the master refused AUTH (${firstWord(line)})`);
    }
    return this.#sendListeningPort();
  }

  // -- REPLCONF listening-port <port> --------------------------------------------------------------
  // Only informational (INFO shows it). An error is ignored, as Redis does: masters before 2.8 lack
  // REPLCONF, and some hosted services reject it.

  #sendListeningPort(): undefined {
    return this.#send('listening-port', ['REPLCONF', 'listening-port', String(this.#o.listeningPort ?? 0)]);
  }

  #onListeningPort(line: string): HandshakeOutcome | undefined {
    if (AUTH_REFUSED.test(line)) throw this.#error('ERR_REPL_AUTH', `the master refused REPLCONF (${firstWord(line)})`);
    return this.#sendCapa();
  }

  // -- REPLCONF capa eof capa psync2 ---------------------------------------------------------------
  // eof: we read diskless `$EOF:` payloads; psync2: we accept a new replid on +CONTINUE. An error is
  // ignored (an old master then sends `$<len>` payloads and plain +CONTINUE, which we also read).

  #sendCapa(): undefined {
    const capa = this.#o.capa ?? ['eof', 'psync2'];
    if (capa.length === 0) return this.#afterCapa();
    return this.#send('capa', ['REPLCONF', ...capa.flatMap((c) => ['capa', c])]);
  }

  #onCapa(line: string): HandshakeOutcome | undefined {
    if (AUTH_REFUSED.test(line)) throw this.#error('ERR_REPL_AUTH', `the master refused REPLCONF (${firstWord(line)})`);
    return this.#afterCapa();
  }

  #afterCapa(): undefined {
    return (this.#o.mode ?? 'full') === 'full' ? this.#sendPsync() : this.#sendFilter();
  }

  // -- REPLCONF rdb-only 1 | REPLCONF rdb-filter-only "" (Redis 7.0+) ----------------------------
  // +OK: go on. An error means the master cannot do what was asked: fatal (ERR_REPL_UNSUPPORTED),
  // since silently falling back would load a snapshot the caller said it did not want, or stop
  // after one it wanted to follow.

  #sendFilter(): undefined {
    return this.#o.mode === 'rdb-only'
      ? this.#send('filter', ['REPLCONF', 'rdb-only', '1'])
      : this.#send('filter', ['REPLCONF', 'rdb-filter-only', '']);
  }

  #onFilter(line: string): HandshakeOutcome | undefined {
    if (line[0] === '-') {
      if (TRY_LATER.test(line)) return { kind: 'try-later', reason: line.slice(1) };
      if (AUTH_REFUSED.test(line)) throw this.#error('ERR_REPL_AUTH', `the master refused REPLCONF (${firstWord(line)})`);
      const what = this.#o.mode === 'rdb-only' ? 'rdb-only' : 'rdb-filter-only (stream-only mode)';
      throw this.#error('ERR_REPL_UNSUPPORTED', `the master does not support REPLCONF ${what}; Redis 7.0 or later is needed`);
    }
    return this.#sendPsync();
  }

  // -- PSYNC <replid> <offset+1> | PSYNC ? -1 ------------------------------------------------------
  // +FULLRESYNC <replid> <offset>: snapshot follows.      +CONTINUE [<replid>]: stream follows.
  // -LOADING / -NOMASTERLINK ...: try later.              -NOAUTH / -NOPERM: fatal.
  // Any other error: the master has no PSYNC; send SYNC on the same connection (payload follows,
  // without a replid: such a replica can never resume partially).

  #sendPsync(): undefined {
    const p = this.#o.position;
    const args = p && p.replid !== '?' ? ['PSYNC', p.replid, String(p.offset + 1)] : ['PSYNC', '?', '-1'];
    return this.#send('psync', args);
  }

  #onPsync(line: string): HandshakeOutcome {
    if (line.startsWith('+FULLRESYNC')) {
      const [, replid, offset] = line.split(' ');
      if (!replid || !/^[0-9a-zA-Z]{1,64}$/.test(replid) || !offset || !/^-?\d+$/.test(offset)) {
        throw this.#error('ERR_REPL_HANDSHAKE', 'malformed +FULLRESYNC reply');
      }
      return { kind: 'fullresync', replid, offset: Number(offset) };
    }
    if (line.startsWith('+CONTINUE')) {
      const replid = line.split(' ')[1] || this.#o.position?.replid;
      if (!replid) throw this.#error('ERR_REPL_HANDSHAKE', '+CONTINUE to a PSYNC that asked for a full sync');
      return { kind: 'continue', replid };
    }
    if (TRY_LATER.test(line)) return { kind: 'try-later', reason: line.slice(1) };
    if (AUTH_REFUSED.test(line)) throw this.#error('ERR_REPL_AUTH', `the master refused PSYNC (${firstWord(line)})`);
    if (line[0] === '-') {
      if ((this.#o.mode ?? 'full') !== 'full') {
        throw this.#error('ERR_REPL_UNSUPPORTED', 'the master has no PSYNC, so it cannot honour rdb-only or stream-only');
      }
      this.#send('done', ['SYNC']);
      return { kind: 'sync' };
    }
    throw this.#error('ERR_REPL_HANDSHAKE', `unexpected reply to PSYNC (${firstWord(line)})`);
  }

  #error(code: ConstructorParameters<typeof ReplicationError>[0], message: string): ReplicationError {
    return new ReplicationError(code, message, { step: this.#step });
  }
}

/** The reply's first word only: error texts may quote what we sent. */
function firstWord(line: string): string {
  return line.split(' ')[0]!.slice(0, 32);
}
