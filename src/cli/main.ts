/**
 * pagerace's command line (DESIGN.md, "CLI contract"): the command table of
 * commands.ts over util.parseArgs. User errors print one line and exit 2 (4 for a
 * trace that no longer applies); nothing here prints a stack trace for them.
 */
import { P, match } from 'ts-pattern';
import { ContractError } from '../contracts.ts';
import { CompileError } from '../explore/compile.ts';
import { DriverError, EXIT, InputError, StaleTraceError, TraceError } from '../index.ts';
import { UsageError, optionHelp, parseCommand } from './args.ts';
import { COMMANDS, type Command } from './commands.ts';
import { err, out, version } from './io.ts';

const HELP_OPT = { help: { type: 'boolean', help: 'this help' } } as const;

function globalHelp(): string {
  const w = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    `pagerace ${version()}: every interleaving of the Linux kernel's page-migration protocols`,
    '',
    'usage: pagerace <command> [arguments] (pagerace <command> --help for its flags)',
    '',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(w)}  ${c.summary}`),
    '',
    '  --version  the version',
  ].join('\n');
}

function commandHelp(c: Command): string {
  return [`usage: pagerace ${c.usage}`, '', c.summary, '', 'flags:', ...optionHelp({ ...c.options, ...HELP_OPT }), ...(c.more?.() ?? [])].join('\n');
}

/** The exit code of an error a user caused, or null for a bug (which is rethrown). */
const userErrorCode = (e: unknown): number | null =>
  match(e)
    .with(P.instanceOf(StaleTraceError), () => EXIT.stale)
    .with(
      P.union(P.instanceOf(UsageError), P.instanceOf(InputError), P.instanceOf(TraceError), P.instanceOf(CompileError), P.instanceOf(DriverError), P.instanceOf(ContractError)),
      () => EXIT.usage,
    )
    .otherwise(() => null);

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  try {
    if (name === '--version' || name === '-V') {
      out(version());
      return 0;
    }
    if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
      out(globalHelp());
      return name === undefined ? EXIT.usage : 0;
    }
    const cmd = COMMANDS.find((c) => c.name === name);
    if (!cmd) throw new UsageError(`unknown command '${name}' (commands: ${COMMANDS.map((c) => c.name).join(', ')})`);
    const p = parseCommand(rest, { ...cmd.options, ...HELP_OPT });
    if (p.flags.has('help')) {
      out(commandHelp(cmd));
      return 0;
    }
    return await cmd.run(p);
  } catch (e) {
    const code = userErrorCode(e);
    if (code === null) throw e;
    err(`pagerace: ${(e as Error).message}`);
    return code;
  }
}
