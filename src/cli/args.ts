/**
 * Flag parsing for subcommands, on top of node:util parseArgs, with generated --help and a typed
 * UsageError (exit 2) for anything malformed. Subcommands declare their flags once; the help text
 * and the parsing come from the same declaration, so they cannot drift apart.
 */
import { parseArgs } from 'node:util';
import { RedstackError } from '../errors.js';

export class UsageError extends RedstackError {
  constructor(message: string) {
    super('ERR_USAGE', message);
  }
}

export interface FlagSpec {
  type: 'string' | 'boolean';
  short?: string;
  multiple?: boolean;
  default?: string | boolean | string[];
  /** Shown in --help, e.g. 'URL'. */
  value?: string;
  description: string;
}

export interface CommandSpec {
  /** e.g. 'rdb dump' */
  name: string;
  summary: string;
  /** e.g. 'FILE|-' */
  positionals?: string;
  flags: Record<string, FlagSpec>;
  examples?: string[];
}

export interface Parsed {
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
  help: boolean;
}

export function parseCommand(spec: CommandSpec, argv: string[]): Parsed {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean; default?: string | boolean | string[] }> = {
    help: { type: 'boolean', short: 'h' },
  };
  for (const [name, f] of Object.entries(spec.flags)) {
    options[name] = { type: f.type };
    if (f.short) options[name].short = f.short;
    if (f.multiple) options[name].multiple = true;
    if (f.default !== undefined) options[name].default = f.default;
  }
  try {
    const { values, positionals } = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
    const help = Boolean(values.help);
    delete values.help;
    return { values: values as Parsed['values'], positionals, help };
  } catch (err) {
    // parseArgs errors say which flag was wrong; keep that, add where to look.
    throw new UsageError(`${(err as Error).message}\nRun 'redstack ${spec.name} --help' for usage.`);
  }
}

export function helpText(spec: CommandSpec): string {
  const lines = [`Usage: redstack ${spec.name}${spec.positionals ? ' ' + spec.positionals : ''} [flags]`, '', spec.summary, '', 'Flags:'];
  const rows: [string, string][] = Object.entries(spec.flags).map(([name, f]) => {
    const left = `${f.short ? `-${f.short}, ` : '    '}--${name}${f.type === 'string' ? ` ${f.value ?? 'VALUE'}` : ''}`;
    const def = f.default !== undefined && f.default !== false ? ` (default: ${String(f.default)})` : '';
    return [left, f.description + def];
  });
  rows.push(['-h, --help', 'show this help']);
  const width = Math.max(...rows.map(([l]) => l.length)) + 2;
  for (const [l, r] of rows) lines.push(`  ${l.padEnd(width)}${r}`);
  if (spec.examples?.length) lines.push('', 'Examples:', ...spec.examples.map((e) => `  ${e}`));
  return lines.join('\n') + '\n';
}

/** Reads a flag that must be a positive integer (or absent). */
export function intFlag(values: Parsed['values'], name: string, min = 0): number | undefined {
  const raw = values[name];
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (typeof raw !== 'string' || !/^\d+$/.test(raw) || !Number.isSafeInteger(n) || n < min) {
    throw new UsageError(`--${name} must be an integer >= ${min}`);
  }
  return n;
}
