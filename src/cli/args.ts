/**
 * Command-line arguments: node's util.parseArgs (strict: unknown flags, missing values
 * and values given to switches are errors) under a thin layer that turns its errors
 * into pagerace's one-line usage errors, keeps a table of each command's options with
 * their help text, and reads numbers strictly.
 *
 * util.parseArgs rather than commander: it ships with Node (no dependency), and
 * pagerace's commands are a table of their own (cli/commands.ts) whose help must list
 * each system's scope flags, which a fixed option registry would not know of.
 */
import { parseArgs as nodeParseArgs } from 'node:util';

export class UsageError extends Error {
  override name = 'UsageError';
}

export interface OptionSpec {
  readonly type: 'string' | 'boolean';
  /** The value's placeholder in help, e.g. `N` (string options). */
  readonly value?: string;
  readonly help: string;
}

export type OptionTable = Readonly<Record<string, OptionSpec>>;

export interface Parsed {
  readonly positional: string[];
  readonly flags: Map<string, string | true>;
}

/** Parse argv against a command's options; every problem is a one-line UsageError. */
export function parseCommand(argv: readonly string[], options: OptionTable): Parsed {
  let parsed;
  try {
    parsed = nodeParseArgs({
      args: [...argv],
      options: Object.fromEntries(Object.entries(options).map(([k, o]) => [k, { type: o.type }])),
      strict: true,
      allowPositionals: true,
    });
  } catch (e) {
    throw new UsageError(usageMessage(e as Error & { code?: string }));
  }
  const flags = new Map<string, string | true>();
  for (const [k, v] of Object.entries(parsed.values)) {
    if (v === undefined || v === false) continue;
    if (v === '') throw new UsageError(`--${k} needs a value`);
    flags.set(k, v === true ? true : String(v));
  }
  return { positional: parsed.positionals, flags };
}

/** util.parseArgs's messages, as pagerace words them. */
function usageMessage(e: Error & { code?: string }): string {
  const m = e.message;
  const flag = /'(-{1,2}[^' ]+)/.exec(m)?.[1];
  if (e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && flag) return `unknown flag ${flag}`;
  if (e.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && flag) {
    if (/does not take an argument/.test(m)) return `${flag} takes no value`;
    if (/ambiguous/.test(m)) return `${flag} needs a value; give one that starts with '-' as ${flag}=VALUE`;
    return `${flag} needs a value`;
  }
  return m.split('\n')[0];
}

/** Help lines for an option table, aligned. */
export function optionHelp(options: OptionTable): string[] {
  const rows = Object.entries(options).map(([k, o]) => [`--${k}${o.type === 'string' ? ` ${o.value ?? 'VALUE'}` : ''}`, o.help]);
  const w = Math.max(0, ...rows.map((r) => r[0].length));
  return rows.map(([a, b]) => `  ${a.padEnd(w)}  ${b}`);
}

export function intFlag(p: Parsed, name: string, min: number, max: number): number | undefined {
  const v = p.flags.get(name);
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || !/^-?\d+$/.test(v)) throw new UsageError(`--${name} must be an integer, not '${v}'`);
  const n = Number(v);
  if (n < min || n > max) throw new UsageError(`--${name} must be between ${min} and ${max}, not ${n}`);
  return n;
}

export function numFlag(p: Parsed, name: string, min: number): number | undefined {
  const v = p.flags.get(name);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (typeof v !== 'string' || !Number.isFinite(n) || n < min) throw new UsageError(`--${name} must be a number of at least ${min}, not '${v}'`);
  return n;
}

export const strFlag = (p: Parsed, name: string): string | undefined => p.flags.get(name) as string | undefined;
