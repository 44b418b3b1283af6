/**
 * pagerace's command line: list, check, replay (DESIGN.md, "CLI contract").
 * User errors print one line and exit 2; nothing here prints a stack trace for them.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { totalmem } from 'node:os';
import { basename, dirname, extname } from 'node:path';
import { CONTRACT_DOC, ContractError, firstDifference, generateContracts } from '../contracts.ts';
import {
  DriverError, EXIT, InputError, SYSTEMS, TraceError, check, checkParallel, driverOfTrace, exitCodeOf, kernelOf, loadDriver, replay, resolveSystem, writeTrace,
} from '../index.ts';
import { CompileError } from '../explore/compile.ts';
import { DEADLOCK } from '../system.ts';
import type { Progress } from '../explore/walker.ts';
import { describeViolation, swimlanes } from '../trace/render.ts';
import { traceLength } from '../trace/trace.ts';
import { BENCH_SCOPES, benchTable, runBench } from '../bench.ts';
import { mergeShards, parseShardSpec, runShard, writeMergedTrace } from '../shard.ts';
import { UsageError, intFlag, numFlag, parseArgs } from './args.ts';

const USAGE = `usage:
  pagerace list [--json]
  pagerace check <system> [--cpus N] [--pages N] [--variant NAME] [--driver FILE]
                 [--max-states N] [--max-seconds S] [--max-memory MB] [--workers N] [--shard I/N]
                 [--no-symmetry] [--no-por]
                 [--out DIR] [--json]   (each system's scope parameters are flags: see pagerace list)
  pagerace replay <trace.json> [--json]
  pagerace merge <shard result files...> [--out DIR] [--json]
  pagerace contracts [--out FILE] [--check]   write docs/driver-contract.md; with --check, exit 1
                                              when the file differs from what the code generates
  pagerace bench [--json]`;

const out = (s: string) => process.stdout.write(s + '\n');
const err = (s: string) => process.stderr.write(s + '\n');

function list(argv: string[]): number {
  const p = parseArgs(argv, { json: false });
  if (p.positional.length) throw new UsageError(`list takes no arguments`);
  if (p.flags.has('json')) {
    out(JSON.stringify(SYSTEMS.map((s) => {
      const model = s.build(Object.fromEntries(Object.entries(s.scope).map(([k, v]) => [k, v.default])), null);
      return {
        name: s.name, title: s.title, kernel: s.kernel, kernels: s.kernels ?? [s.kernel], description: s.description, scope: s.scope,
        ...(s.driverSlot ? { driverSlot: s.driverSlot } : {}),
        actors: [...new Set(model.actors.map((a) => a.kind))],
        variants: s.variants,
        properties: [...model.properties.map(({ name, kind, rule, source }) => ({ name, kind, rule, source })), { ...DEADLOCK, kind: 'deadlock' }],
      };
    }), null, 2));
    return 0;
  }
  for (const s of SYSTEMS) {
    const model = s.build(Object.fromEntries(Object.entries(s.scope).map(([k, v]) => [k, v.default])), null);
    out(`${s.name} (kernel ${s.kernel}${s.kernels && s.kernels.length > 1 ? `; --kernel ${s.kernels.join(' | ')}` : ''}): ${s.title}`);
    out(`  scope: ${Object.entries(s.scope).map(([k, v]) => `--${k} ${v.min}..${v.max} (default ${v.default}, ${v.description})`).join(', ')}`);
    out(`  actors: ${[...new Set(model.actors.map((a) => a.kind))].join(', ')}`);
    if (s.driverSlot) out(`  --driver FILE replaces the '${s.driverSlot.actor}' actor (README, "Checking your own driver")`);
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

async function runCheck(argv: string[]): Promise<number> {
  // Every system's scope parameters are flags (--cpus, --pages, --zspages, --contigs, ...).
  const scopeFlags = Object.fromEntries(SYSTEMS.flatMap((s) => Object.keys(s.scope)).map((k) => [k, true]));
  const p = parseArgs(argv, {
    ...scopeFlags, variant: true, kernel: true, driver: true, 'max-states': true, 'max-seconds': true, 'max-memory': true,
    workers: true, shard: true, 'no-symmetry': false, 'no-por': false, out: true, json: false,
  });
  if (p.positional.length !== 1) throw new UsageError('check needs exactly one system name');
  const system = resolveSystem(p.positional[0]);
  for (const k of Object.keys(scopeFlags)) {
    if (p.flags.has(k) && !(k in system.scope)) throw new UsageError(`--${k} is not a scope parameter of ${system.name}`);
  }
  const given: Record<string, number | undefined> = {};
  for (const [k, v] of Object.entries(system.scope)) given[k] = intFlag(p, k, v.min, v.max);
  const variant = (p.flags.get('variant') as string | undefined) ?? null;
  // --kernel VERSION: one of System.kernels (the CLI engineer's parser replaces this).
  const kernel = p.flags.get('kernel') as string | undefined;
  if (kernel !== undefined && !(system.kernels ?? [system.kernel]).includes(kernel)) {
    throw new UsageError(`--kernel ${kernel}: ${system.name} models ${(system.kernels ?? [system.kernel]).join(', ')}`);
  }
  const driverPath = p.flags.get('driver') as string | undefined;
  if (driverPath !== undefined && !system.driverSlot) throw new InputError(`${system.name} takes no --driver`);
  const driver = driverPath === undefined ? undefined : await loadDriver(driverPath);
  const json = p.flags.has('json');
  const dir = (p.flags.get('out') as string | undefined) ?? `out/${system.name}`;
  const common = {
    driver,
    kernel,
    maxStates: intFlag(p, 'max-states', 1, 2 ** 31),
    maxSeconds: numFlag(p, 'max-seconds', 0),
    // The walker's own arrays; the default leaves a quarter of the machine for the rest.
    maxBytes: (intFlag(p, 'max-memory', 16, 2 ** 24) ?? Math.floor((totalmem() * 0.75) / 2 ** 20)) * 2 ** 20,
    por: !p.flags.has('no-por'),
    symmetry: !p.flags.has('no-symmetry'),
    onProgress: json ? undefined : progressPrinter(),
  };
  const workers = intFlag(p, 'workers', 1, 64) ?? 1;
  if (workers > 1 && p.flags.has('shard')) throw new UsageError('--workers and --shard do not combine: run each shard on one worker');
  if (p.flags.has('shard')) {
    const shard = parseShardSpec(p.flags.get('shard') as string);
    const { path, result } = runShard(system.name, given, variant, shard, dir, common);
    if (!json && process.stderr.isTTY) process.stderr.write('\r\x1b[K');
    const { violation: _v, ...rest } = result;
    out(json ? JSON.stringify({ ...rest, ...(result.violation ? { violation: { kind: result.violation.kind, property: result.violation.property, steps: result.violation.length } } : {}), result: path })
      : `shard ${shard.index + 1}/${shard.count}: ${result.verdict}, ${result.expanded} states expanded, ${result.transitions} transitions, ${result.seconds} s; result in ${path}; combine the shards with: pagerace merge ${dir}/${variant ?? 'fixed'}.shard-*-of-${shard.count}.json`);
    return result.verdict === 'pass' ? EXIT.pass : result.verdict === 'incomplete' ? EXIT.incomplete : exitCodeOf(result.violation!.kind);
  }
  const outcome = workers > 1 ? await checkParallel(system.name, given, variant, { ...common, workers }) : check(system.name, given, variant, common);
  if (!json && process.stderr.isTTY) process.stderr.write('\r\x1b[K');
  const { result, trace, compiled, scope } = outcome;
  let tracePath: string | null = null;
  if (trace) {
    tracePath = writeTrace(dir, driverPath !== undefined ? basename(driverPath, extname(driverPath)) : variant ?? 'fixed', compiled, trace);
  }
  const code = result.verdict === 'pass' ? EXIT.pass : result.verdict === 'incomplete' ? EXIT.incomplete : exitCodeOf(result.violation!.kind);
  const summary = {
    system: system.name,
    config: scope,
    variant,
    ...(driver ? { driver: driver.path } : {}),
    ...(workers > 1 ? { workers } : {}),
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
        steps: traceLength(trace.steps), preemptions: trace.preemptions, trace: tracePath,
      },
    } : {}),
  };
  if (json) {
    out(JSON.stringify(summary));
    return code;
  }
  out(`${system.name} (kernel ${kernelOf(system, variant, kernel)}) ${Object.entries(scope).map(([k, v]) => `--${k} ${v}`).join(' ')}${variant ? ` --variant ${variant}` : ''}` +
    `${driver ? ` --driver ${driver.path} (${driver.driver.name})` : ''}`);
  out(`${result.verdict}: ${result.states} states, ${result.transitions} transitions, depth ${result.depth}, ` +
    `${summary.seconds} s, ${summary.statesPerSecond} states/s${workers > 1 ? ` on ${workers} workers` : ''}${result.limit ? ` (stopped by ${result.limit})` : ''}`);
  if (trace) {
    out(describeViolation(trace));
    out('');
    out(swimlanes(trace, compiled.actors.map((a) => a.name)));
    out('');
    out(`trace written to ${tracePath}; replay it with: pagerace replay ${tracePath}`);
  }
  return code;
}

function runMerge(argv: string[]): number {
  const p = parseArgs(argv, { out: true, json: false });
  const m = mergeShards(p.positional);
  const tracePath = writeMergedTrace((p.flags.get('out') as string | undefined) ?? `out/${m.system}`, m);
  const code = m.verdict === 'pass' ? EXIT.pass : m.verdict === 'incomplete' ? EXIT.incomplete : exitCodeOf(m.violation!.kind);
  const summary = {
    system: m.system, config: m.config, variant: m.variant, shards: m.shards, verdict: m.verdict,
    states: m.states, transitions: m.transitions, depth: m.depth,
    ...(m.violation ? { violation: { property: m.violation.property, kind: m.violation.kind, message: m.violation.message, steps: m.violation.length, preemptions: m.violation.preemptions, trace: tracePath } } : {}),
  };
  if (p.flags.has('json')) out(JSON.stringify(summary));
  else {
    out(`${m.system} ${Object.entries(m.config).map(([k, v]) => `--${k} ${v}`).join(' ')}${m.variant ? ` --variant ${m.variant}` : ''}, ${m.shards} shards`);
    out(`${m.verdict}: ${m.states} distinct states, ${m.transitions} transitions, depth ${m.depth}`);
    if (m.violation) out(`${m.violation.kind} ${m.violation.property}: ${m.violation.message} (${m.violation.length} steps); trace in ${tracePath}`);
  }
  return code;
}

async function runReplay(argv: string[]): Promise<number> {
  const p = parseArgs(argv, { json: false });
  if (p.positional.length !== 1) throw new UsageError('replay needs exactly one trace file');
  let text: string;
  try {
    text = readFileSync(p.positional[0], 'utf8');
  } catch (e) {
    throw new InputError(`cannot read ${p.positional[0]}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const r = replay(text, await driverOfTrace(text));
  const code = r.trace ? exitCodeOf(r.trace.violation.kind) : EXIT.pass;
  if (p.flags.has('json')) {
    out(JSON.stringify({
      reproduced: r.trace ? { ...r.trace.violation, steps: traceLength(r.trace.steps) } : null,
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

function runContracts(argv: string[]): number {
  const p = parseArgs(argv, { out: true, check: false });
  if (p.positional.length) throw new UsageError('contracts takes no arguments');
  const file = (p.flags.get('out') as string | undefined) ?? CONTRACT_DOC;
  const text = generateContracts();
  if (p.flags.has('check')) {
    let have: string | null = null;
    try {
      have = readFileSync(file, 'utf8');
    } catch {
      err(`pagerace: ${file} does not exist; generate it with: pagerace contracts${file === CONTRACT_DOC ? '' : ` --out ${file}`}`);
      return 1;
    }
    const line = firstDifference(have, text);
    if (line) {
      err(`pagerace: ${file} is out of date (first difference at line ${line}); regenerate it with: pagerace contracts${file === CONTRACT_DOC ? '' : ` --out ${file}`}`);
      return 1;
    }
    out(`${file} is up to date`);
    return 0;
  }
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, text);
  renameSync(tmp, file);
  out(`wrote ${file} (${text.split('\n').length - 1} lines)`);
  return 0;
}

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  try {
    switch (cmd) {
      case 'list': return list(rest);
      case 'check': return await runCheck(rest);
      case 'replay': return await runReplay(rest);
      case 'merge': return runMerge(rest);
      case 'contracts': return runContracts(rest);
      case 'bench': {
        const p = parseArgs(rest, { json: false });
        const rows = await runBench(BENCH_SCOPES, p.flags.has('json') ? undefined : (s) => err(`bench: ${s}`));
        out(p.flags.has('json') ? JSON.stringify(rows) : benchTable(rows));
        return 0;
      }
      case undefined: case '--help': case '-h': case 'help':
        out(USAGE);
        return cmd === undefined ? EXIT.usage : 0;
      default:
        throw new UsageError(`unknown command '${cmd}'`);
    }
  } catch (e) {
    if (e instanceof UsageError || e instanceof InputError || e instanceof TraceError || e instanceof CompileError || e instanceof DriverError || e instanceof ContractError) {
      err(`pagerace: ${e.message}`);
      return EXIT.usage;
    }
    throw e;
  }
}
