/**
 * Which commands block the connection they run on. They are sent on dedicated connections so that a
 * BLPOP waiting for minutes never holds up the replies of other commands, and they are exempt from
 * the command timeout (their own timeout argument governs them).
 */
import type { Command } from '../resp/types.js';

const ALWAYS = new Set(['BLPOP', 'BRPOP', 'BRPOPLPUSH', 'BLMOVE', 'BLMPOP', 'BZPOPMIN', 'BZPOPMAX', 'BZMPOP', 'WAIT', 'WAITAOF']);

export function isBlocking(command: Command): boolean {
  const name = String(command[0]).toUpperCase();
  if (ALWAYS.has(name)) return true;
  if (name === 'XREAD' || name === 'XREADGROUP') {
    for (let i = 1; i < command.length; i++) {
      const a = command[i];
      if (typeof a === 'string' && a.toUpperCase() === 'BLOCK') return true;
      if (typeof a === 'string' && a.toUpperCase() === 'STREAMS') return false;
    }
  }
  return false;
}
