/**
 * The `redstack` command: finds the subcommand and runs it. Subcommands live in src/cli/commands/,
 * one file each, exporting `spec` and `run`. This file holds no logic of its own beyond dispatch and
 * turning errors into exit codes.
 */
import { EXIT, exitCodeFor } from './exit-codes.js';
import { helpText, parseCommand, UsageError, type CommandSpec, type Parsed } from './args.js';
import { RedstackError } from '../errors.js';

export interface Subcommand {
  spec: CommandSpec;
  /** Returns the exit code. */
  run(args: Parsed): Promise<number>;
}

/** name (possibly two words, e.g. 'rdb dump') -> lazy module loader, so one command's deps don't load for another. */
const commands: Record<string, () => Promise<Subcommand>> = {
  start: () => import('./commands/start.js'),
  'rdb dump': () => import('./commands/rdb-dump.js'),
  'rdb stats': () => import('./commands/rdb-stats.js'),
  replicate: () => import('./commands/replicate.js'),
  'replica-sync': () => import('./commands/replica-sync.js'),
  'grid list': () => import('./commands/grid-list.js'),
  'grid watch': () => import('./commands/grid-watch.js'),
  gateway: () => import('./commands/gateway.js'),
  'demo-stats': () => import('./commands/demo-stats.js'),
};

export function registerCommand(name: string, load: () => Promise<Subcommand>): void {
  commands[name] = load;
}

function topHelp(): string {
  const names = Object.keys(commands).sort();
  return `Usage: redstack <command> [flags]\n\nCommands:\n${names.map((n) => `  ${n}`).join('\n')}\n\nRun 'redstack <command> --help' for a command's flags.\n`;
}

export async function main(argv: string[]): Promise<number> {
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') {
    process.stdout.write(topHelp());
    return argv.length === 0 ? EXIT.USAGE : EXIT.OK;
  }
  // Longest match first: 'rdb dump' before 'rdb'.
  const two = argv.slice(0, 2).join(' ');
  const name = commands[two] ? two : argv[0]!;
  const load = commands[name];
  if (!load) {
    process.stderr.write(`redstack: unknown command '${argv[0]}'\n\n${topHelp()}`);
    return EXIT.USAGE;
  }
  const rest = argv.slice(name.split(' ').length);
  const cmd = await load();
  try {
    const parsed = parseCommand(cmd.spec, rest);
    if (parsed.help) {
      process.stdout.write(helpText(cmd.spec));
      return EXIT.OK;
    }
    return await cmd.run(parsed);
  } catch (err) {
    const code = exitCodeFor(err);
    const label = err instanceof RedstackError ? `${err.code}: ` : '';
    process.stderr.write(`redstack ${name}: ${label}${(err as Error).message}\n`);
    if (process.env.REDSTACK_DEBUG && err instanceof Error && err.stack) process.stderr.write(err.stack + '\n');
    return err instanceof UsageError ? EXIT.USAGE : code;
  }
}

const invoked = process.argv[1] ?? '';
if (invoked.endsWith('main.ts') || invoked.endsWith('main.js') || invoked.endsWith('redstack.js') || invoked.endsWith('redstack')) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err) => {
      process.stderr.write(`redstack: ${(err as Error).stack ?? String(err)}\n`);
      process.exitCode = EXIT.FAILURE;
    },
  );
}
