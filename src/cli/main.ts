/**
 * pagerace's command line: list, check, replay (DESIGN.md, "CLI contract").
 * User errors print one line and exit 2; nothing here prints a stack trace for them.
 */
import { readFileSync } from 'node:fs';
import { EXIT, InputError, SYSTEMS, TraceError, check, exitCodeOf, replay, resolveSystem, writeTrace } from '../index.ts';
import { CompileError } from '../explore/compile.ts';
import { DEADLOCK } from '../system.ts';
import type { Progress } from '../explore/walker.ts';
import { describeViolation, swimlanes } from '../trace/render.ts';
import { UsageError, intFlag, numFlag, parseArgs } from './args.ts';

const USAGE = `usage:
  pagerace list [--json]
  pagerace check <system> [--cpus N] [--pages N] [--variant NAME] [--max-states N] [--max-seconds S]
                 [--no-por] [--out DIR] [--json]   (each system's scope parameters are flags: see list)
  pagerace replay <trace.json> [--json]`;

const out = (s: string) => process.stdout.write(s + '\n');
const err = (s: string) => process.stderr.write(s + '\n');

function list(argv: string[]): number {
  const p = parseArgs(argv, { json: false });
  if (p.positional.length) throw new UsageError(`list takes no arguments`);
  if (p.flags.has('json')) {
    out(JSON.stringify(SYSTEMS.map((s) => {
      const model = s.build(Object.fromEntries(Object.entries(s.scope).map(([k, v]) => [k, v.default])), null);
      return {
        name: s.name, title: s.title, kernel: s.kernel, description: s.description, scope: s.scope,
        actors: [...new Set(model.actors.map((a) => a.kind))],
        variants: s.variants,
        properties: [...model.properties.map(({ name, kind, rule, source }) => ({ name, kind, rule, source })), { ...DEADLOCK, kind: 'deadlock' }],
      };
    }), null, 2));
    return 0;
  }
  for (const s of SYSTEMS) {
    const model = s.build(Object.fromEntries(Object.entries(s.scope).map(([k, v]) => [k, v.default])), null);
    out(`${s.name} (kernel ${s.kernel}): ${s.title}`);
    out(`  scope: ${Object.entries(s.scope).map(([k, v]) => `--${k} ${v.min}..${v.max} (default ${v.default}, ${v.description})`).join(', ')}`);
    out(`  actors: ${[...new Set(model.actors.map((a) => a.kind))].join(', ')}`);
    out(`  properties: ${[...model.properties.map((p) => p.name), DEADLOCK.name].join(', ')}`);
    out(`  variants:`);
    for (const v of s.variants) out(`    ${v.name.padEnd(30)} expect ${v.expect.kind} ${v.expect.property}`);
  }
  return 0;
}

function progressPrinter(): (p: Progress) => void {
  const tty = process.stderr.isTTY;
  let last = 0;
  return (p) => {
    const line = `states ${p.states}  transitions ${p.transitions}  queue ${p.queue}  depth ${p.depth}  ` +
      `${Math.round(p.states / Math.max(p.seconds, 1e-9))} states/s  ${p.seconds.toFixed(0)} s`;
    if (tty) process.stderr.write(`\r${line}\x1b[K`);
    else if (p.seconds - last >= 10) { last = p.seconds; err(line); }
  };
}

function runCheck(argv: string[]): number {
  // Every system's scope parameters are flags (--cpus, --pages, --contigs, ...).
  const scopeFlags = Object.fromEntries(SYSTEMS.flatMap((s) => Object.keys(s.scope)).map((k) => [k, true]));
  const p = parseArgs(argv, {
    ...scopeFlags, cpus: true, pages: true, variant: true, driver: true, 'max-states': true, 'max-seconds': true,
    workers: true, shard: true, 'no-symmetry': false, 'no-por': false, out: true, json: false,
  });
  if (p.positional.length !== 1) throw new UsageError('check needs exactly one system name');
  for (const f of ['driver', 'workers', 'shard']) {
    if (p.flags.has(f)) throw new UsageError(`--${f} is not available yet in this version of pagerace`);
  }
  const system = resolveSystem(p.positional[0]);
  const given: Record<string, number | undefined> = {};
  for (const [k, v] of Object.entries(system.scope)) given[k] = intFlag(p, k, v.min, v.max);
  const variant = (p.flags.get('variant') as string | undefined) ?? null;
  const json = p.flags.has('json');
  const outcome = check(system.name, given, variant, {
    maxStates: intFlag(p, 'max-states', 1, 2 ** 31),
    maxSeconds: numFlag(p, 'max-seconds', 0),
    por: !p.flags.has('no-por'),
    onProgress: json ? undefined : progressPrinter(),
  });
  if (!json && process.stderr.isTTY) process.stderr.write('\r\x1b[K');
  const { result, trace, compiled, scope } = outcome;
  let tracePath: string | null = null;
  if (trace) {
    const dir = (p.flags.get('out') as string | undefined) ?? `out/${system.name}`;
    tracePath = writeTrace(dir, variant ?? 'fixed', compiled, trace);
  }
  const code = result.verdict === 'pass' ? EXIT.pass : result.verdict === 'incomplete' ? EXIT.incomplete : exitCodeOf(result.violation!.kind);
  const summary = {
    system: system.name,
    config: scope,
    variant,
    verdict: result.verdict,
    states: result.states,
    transitions: result.transitions,
    depth: result.depth,
    seconds: Number(result.seconds.toFixed(3)),
    statesPerSecond: Math.round(result.states / Math.max(result.seconds, 1e-9)),
    ...(result.limit ? { limit: result.limit } : {}),
    ...(trace ? {
      violation: {
        property: trace.violation.property, kind: trace.violation.kind, message: trace.violation.message,
        steps: trace.steps.length, preemptions: trace.preemptions, trace: tracePath,
      },
    } : {}),
  };
  if (json) {
    out(JSON.stringify(summary));
    return code;
  }
  out(`${system.name} (kernel ${system.kernel}) ${Object.entries(scope).map(([k, v]) => `--${k} ${v}`).join(' ')}${variant ? ` --variant ${variant}` : ''}`);
  out(`${result.verdict}: ${result.states} states, ${result.transitions} transitions, depth ${result.depth}, ` +
    `${summary.seconds} s, ${summary.statesPerSecond} states/s${result.limit ? ` (stopped by ${result.limit})` : ''}`);
  if (trace) {
    out(describeViolation(trace));
    out('');
    out(swimlanes(trace, compiled.actors.map((a) => a.name)));
    out('');
    out(`trace written to ${tracePath}; replay it with: pagerace replay ${tracePath}`);
  }
  return code;
}

function runReplay(argv: string[]): number {
  const p = parseArgs(argv, { json: false });
  if (p.positional.length !== 1) throw new UsageError('replay needs exactly one trace file');
  let text: string;
  try {
    text = readFileSync(p.positional[0], 'utf8');
  } catch (e) {
    throw new InputError(`cannot read ${p.positional[0]}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const r = replay(text);
  const code = r.trace ? exitCodeOf(r.trace.violation.kind) : EXIT.pass;
  if (p.flags.has('json')) {
    out(JSON.stringify({
      reproduced: r.trace ? { ...r.trace.violation, steps: r.trace.steps.length } : null,
      expected: r.expected,
      matches: r.matches,
    }));
    return code;
  }
  if (!r.trace) {
    out(`the trace ran to its end without a violation (it recorded ${r.expected.kind} ${r.expected.property})`);
    return code;
  }
  out(`${r.matches ? 'reproduced' : 'reproduced a different violation'}: ${describeViolation(r.trace)}`);
  out('');
  out(swimlanes(r.trace, r.compiled.actors.map((a) => a.name)));
  return code;
}

export function main(argv: string[]): number {
  const [cmd, ...rest] = argv;
  try {
    switch (cmd) {
      case 'list': return list(rest);
      case 'check': return runCheck(rest);
      case 'replay': return runReplay(rest);
      case undefined: case '--help': case '-h': case 'help':
        out(USAGE);
        return cmd === undefined ? EXIT.usage : 0;
      default:
        throw new UsageError(`unknown command '${cmd}'`);
    }
  } catch (e) {
    if (e instanceof UsageError || e instanceof InputError || e instanceof TraceError || e instanceof CompileError) {
      err(`pagerace: ${e.message}`);
      return EXIT.usage;
    }
    throw e;
  }
}
