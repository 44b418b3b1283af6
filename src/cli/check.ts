/**
 * `pagerace check`: one system at a scope (text, JSON, JUnit or SARIF), a shard of
 * it, or `--all`: every system's default scope and every variant at its committed
 * scope, in one table.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { basename, extname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { totalmem } from 'node:os';
import { match } from 'ts-pattern';
import {
  EXIT, InputError, SYSTEMS, checkOutcome, checkParallel, check, exitCodeOfVerdict, loadDriver, prepareCheck, resolveSystem,
  writeTrace, type CheckOutcome, type PreparedCheck,
} from '../index.ts';
import type { Progress, WalkResult } from '../explore/walker.ts';
import type { System } from '../system.ts';
import { describeViolation, swimlanes } from '../trace/render.ts';
import { parseTraceFile, traceLength } from '../trace/trace.ts';
import { parseShardSpec, runShard } from '../shard.ts';
import { UsageError, intFlag, numFlag, strFlag, type OptionTable, type Parsed } from './args.ts';
import { Interrupted, namedStuck, startSearch } from './background.ts';
import { coverageReport, coverageText } from './coverage.ts';
import { SEARCH_FLAGS, coverageSummary, searchOptions as searchModes, verdictText } from './search-flags.ts';
import { checkOutDir, err, out, progressPrinter } from './io.ts';
import { githubAnnotations, inGithubActions, junit, sarif, type Row } from './report.ts';

/** Every system's scope parameters, as flags (a system accepts only its own). */
export function scopeOptions(): OptionTable {
  const users = new Map<string, string[]>();
  for (const s of SYSTEMS) for (const k of Object.keys(s.scope)) users.set(k, [...(users.get(k) ?? []), s.name]);
  return Object.fromEntries([...users].map(([k, systems]) => [k, { type: 'string', value: 'N', help: `scope of ${systems.join(', ')} (below)` }]));
}

export const CHECK_OPTIONS: OptionTable = {
  ...scopeOptions(),
  kernel: { type: 'string', value: 'VERSION', help: 'the kernel version to model (pagerace list shows each system\'s versions)' },
  variant: { type: 'string', value: 'NAME', help: 'put a known bug back (pagerace list shows them)' },
  driver: { type: 'string', value: 'FILE', help: 'check your own driver module (README, "Checking your own driver")' },
  ...SEARCH_FLAGS,
  'max-states': { type: 'string', value: 'N', help: 'stop (exit 3) after N distinct states' },
  'max-seconds': { type: 'string', value: 'S', help: 'stop (exit 3) after S seconds' },
  'max-memory': { type: 'string', value: 'MB', help: 'stop (exit 3) when the walker\'s arrays pass MB MiB (default: 3/4 of memory)' },
  workers: { type: 'string', value: 'N', help: 'split the search over N worker threads (same answer)' },
  shard: { type: 'string', value: 'I/N', help: 'explore share I of N and write a shard result for pagerace merge' },
  'no-symmetry': { type: 'boolean', help: 'do not merge states that differ only by a renaming of the CPUs' },
  'no-por': { type: 'boolean', help: 'do not chain local steps' },
  coverage: { type: 'boolean', help: 'list, per kind of actor, the machine states and branches the search never reached' },
  out: { type: 'string', value: 'DIR', help: 'where a violation\'s trace goes (default out/<system>); checked before the search' },
  format: { type: 'string', value: 'FORMAT', help: 'text (default), json, junit or sarif' },
  json: { type: 'boolean', help: 'the same as --format json' },
  all: { type: 'boolean', help: 'check every system at its default scope and every variant at its committed scope' },
  counterexamples: { type: 'string', value: 'DIR', help: 'with --all: where the committed traces are (default the package\'s counterexamples/)' },
  only: { type: 'string', value: 'NAMES', help: 'with --all: only the rows whose name (system or system/variant) contains one of these comma-separated words' },
};

type Format = 'text' | 'json' | 'junit' | 'sarif';

function formatOf(p: Parsed): Format {
  const f = strFlag(p, 'format');
  if (f !== undefined && p.flags.has('json') && f !== 'json') throw new UsageError(`--json and --format ${f} do not combine`);
  if (p.flags.has('json')) return 'json';
  if (f === undefined) return 'text';
  if (!['text', 'json', 'junit', 'sarif'].includes(f)) throw new UsageError(`--format must be text, json, junit or sarif, not '${f}'`);
  return f as Format;
}

const scopeText = (scope: Readonly<Record<string, number>>) => Object.entries(scope).map(([k, v]) => `--${k} ${v}`).join(' ');

export async function runCheck(p: Parsed): Promise<number> {
  if (p.flags.has('all')) return runAll(p);
  for (const k of ['only', 'counterexamples']) if (p.flags.has(k)) throw new UsageError(`--${k} goes with --all`);
  const format = formatOf(p);
  if (p.positional.length !== 1) throw new UsageError('check needs exactly one system name (or --all)');
  const system = resolveSystem(p.positional[0]);
  for (const k of Object.keys(scopeOptions())) {
    if (p.flags.has(k) && !(k in system.scope)) throw new UsageError(`--${k} is not a scope parameter of ${system.name}`);
  }
  const given: Record<string, number | undefined> = {};
  for (const [k, v] of Object.entries(system.scope)) given[k] = intFlag(p, k, v.min, v.max);
  const variant = strFlag(p, 'variant') ?? null;
  const driverPath = strFlag(p, 'driver');
  if (driverPath !== undefined && !system.driverSlot) throw new InputError(`${system.name} takes no --driver`);
  const workers = intFlag(p, 'workers', 1, 64) ?? 1;
  if (workers > 1 && p.flags.has('shard')) throw new UsageError('--workers and --shard do not combine: run each shard on one worker');
  const coverage = p.flags.has('coverage');
  if (coverage && (workers > 1 || p.flags.has('shard'))) throw new UsageError('--coverage runs on one thread: leave out --workers and --shard');
  const search = { ...searchOptions(p), ...searchModes(p, workers, p.flags.has('shard')) }; // --preemptions, --[no-]liveness
  if (coverage && search.preemptions !== undefined) throw new UsageError('--coverage reports an exhaustive search: leave out --preemptions');
  const dir = strFlag(p, 'out') ?? `out/${system.name}`;
  // Every input is checked before the search: the output place, the driver, the model.
  checkOutDir(dir);
  const progress = progressPrinter();
  // A one-thread search starts in its worker thread now, while this thread checks the
  // rest of the input (the worker resolves the same spec the same way).
  const kernel = strFlag(p, 'kernel');
  const early = workers === 1 && !p.flags.has('shard')
    ? startSearch({ system: system.name, scope: given as Record<string, number>, variant, ...(driverPath !== undefined ? { driver: driverPath } : {}), ...(kernel !== undefined ? { kernel } : {}) }, search, coverage, progress.show)
    : null;
  let prepared: PreparedCheck;
  try {
    const driver = driverPath === undefined ? undefined : await loadDriver(driverPath);
    prepared = prepareCheck(system.name, given, variant, driver, kernel);
  } catch (e) {
    early?.cancel();
    throw e;
  }
  const { driver } = prepared;

  if (p.flags.has('shard')) return runOneShard(p, prepared, dir, search, format, progress);

  let result: WalkResult;
  let counts: { pcSeen: number[][]; taken: number[][] } | undefined;
  try {
    if (workers > 1) {
      result = (await interruptible(checkParallel(system.name, given, variant, {
        ...search, workers, ...(driver ? { driver } : {}), kernel: prepared.kernel, onProgress: progress.show,
      }), progress)).result;
    } else {
      const bg = await early!.done;
      // A search stopped inside a step that never returned: name the step.
      result = namedStuck(prepared.compiled, bg, search.maxSeconds);
      counts = bg.coverage;
    }
  } catch (e) {
    if (!(e instanceof Interrupted)) throw e;
    progress.clear();
    const summary = summaryOf(prepared, { verdict: 'incomplete', ...e.progress, limit: 'interrupted (SIGINT)' }, workers);
    if (format === 'json') out(JSON.stringify(summary));
    else out(`${headline(prepared)}\n${verdictLine(summary, workers)}`);
    return EXIT.interrupted;
  }
  progress.clear();
  const outcome = checkOutcome(prepared, result, search);
  const { trace } = outcome;
  const tracePath = trace ? writeTrace(dir, driverPath !== undefined ? basename(driverPath, extname(driverPath)) : variant ?? 'fixed', outcome.compiled, trace) : null;
  const code = exitCodeOfVerdict(result.verdict, result.violation?.kind);
  const cov = counts ? coverageReport(outcome.compiled, counts) : undefined;
  const summary = {
    ...summaryOf(prepared, result, workers),
    ...coverageSummary(result),
    ...(trace ? {
      violation: {
        property: trace.violation.property, kind: trace.violation.kind, message: trace.violation.message,
        steps: traceLength(trace.steps), preemptions: trace.preemptions, trace: tracePath,
      },
    } : {}),
    ...(cov ? { coverage: cov } : {}),
  };
  const row = rowOf(outcome, tracePath, system.name, 'pass');
  // On stderr, so that stdout stays one JSON, JUnit or SARIF document; the runner reads both.
  if (inGithubActions()) for (const l of githubAnnotations([row])) err(l);
  match(format)
    .with('json', () => out(JSON.stringify(summary)))
    .with('junit', () => out(junit([row], `pagerace check ${system.name}`)))
    .with('sarif', () => out(sarif([row])))
    .with('text', () => {
      out(headline(prepared));
      out(verdictLine({ ...summary, verdict: verdictText(result) }, workers));
      if (trace) {
        out(describeViolation(trace));
        out('');
        out(swimlanes(trace, outcome.compiled.actors.map((a) => a.name)));
        out('');
        out(`trace written to ${tracePath}; replay it with: pagerace replay ${tracePath}; see it with: pagerace view ${tracePath}`);
      }
      if (cov) for (const l of coverageText(cov)) out(l);
    })
    .exhaustive();
  return code;
}

/** The search limits and reductions the flags ask for. */
function searchOptions(p: Parsed) {
  return {
    maxStates: intFlag(p, 'max-states', 1, 2 ** 31),
    maxSeconds: numFlag(p, 'max-seconds', 0),
    // The walker's own arrays; the default leaves a quarter of the machine for the rest.
    maxBytes: (intFlag(p, 'max-memory', 16, 2 ** 24) ?? Math.floor((totalmem() * 0.75) / 2 ** 20)) * 2 ** 20,
    por: !p.flags.has('no-por'),
    symmetry: !p.flags.has('no-symmetry'),
  };
}

/** A promise that SIGINT turns into Interrupted with the latest progress figures. */
function interruptible<T>(work: Promise<T>, progress: { show: (p: Progress) => void }): Promise<T> {
  const t0 = performance.now();
  let last: Progress = { states: 0, transitions: 0, queue: 0, depth: 0, seconds: 0 };
  const show = progress.show;
  progress.show = (p) => { last = p; show(p); };
  return new Promise<T>((resolve, reject) => {
    const onSigint = () => reject(new Interrupted({ ...last, seconds: (performance.now() - t0) / 1000 }));
    process.once('SIGINT', onSigint);
    work.then((v) => { process.off('SIGINT', onSigint); resolve(v); }, (e) => { process.off('SIGINT', onSigint); reject(e); });
  });
}

const headline = (p: PreparedCheck) =>
  `${p.system.name} (kernel ${p.kernel}) ${scopeText(p.scope)}${p.variant ? ` --variant ${p.variant}` : ''}` +
  `${p.driver ? ` --driver ${p.driver.path} (${p.driver.driver.name})` : ''}`;

type Figures = Pick<WalkResult, 'verdict' | 'states' | 'transitions' | 'depth' | 'seconds'> & { readonly limit?: string };

function summaryOf(p: PreparedCheck, r: Figures, workers: number) {
  return {
    system: p.system.name,
    ...(p.kernel !== p.system.kernel ? { kernel: p.kernel } : {}),
    config: p.scope,
    variant: p.variant,
    ...(p.driver ? { driver: p.driver.path } : {}),
    ...(workers > 1 ? { workers } : {}),
    verdict: r.verdict,
    states: r.states,
    transitions: r.transitions,
    depth: r.depth,
    seconds: Number(r.seconds.toFixed(3)),
    statesPerSecond: Math.round(r.states / Math.max(r.seconds, 1e-9)),
    ...(r.limit ? { limit: r.limit } : {}),
  };
}

const verdictLine = (s: Omit<ReturnType<typeof summaryOf>, 'verdict'> & { readonly verdict: string }, workers: number) =>
  `${s.verdict}: ${s.states} states, ${s.transitions} transitions, depth ${s.depth}, ${s.seconds} s, ${s.statesPerSecond} states/s` +
  `${workers > 1 ? ` on ${workers} workers` : ''}${s.limit ? ` (stopped by ${s.limit})` : ''}`;

/** A check as a report row; `expected` is what counts as ok. */
function rowOf(o: CheckOutcome, tracePath: string | null, name: string, expected: string): Row {
  const { result, trace } = o;
  const prop = trace ? o.compiled.model.properties.find((x) => x.name === trace.violation.property) : undefined;
  const got = result.verdict === 'violation' && trace
    ? `${trace.violation.kind} ${trace.violation.property}, ${traceLength(trace.steps)} steps` : result.verdict + (result.limit ? ` (${result.limit})` : '');
  return {
    name: o.variant ? `${name}/${o.variant}` : name,
    command: `pagerace check ${o.system.name} ${scopeText(o.scope)}${o.variant ? ` --variant ${o.variant}` : ''}`,
    expected, got, ok: result.verdict === 'pass', seconds: result.seconds,
    ...(trace ? { message: `${trace.violation.kind} ${trace.violation.property}: ${trace.violation.message}`, property: { name: trace.violation.property, ...(prop ? { rule: prop.rule } : {}) } } : {}),
    trace: tracePath,
  };
}

function runOneShard(
  p: Parsed, prepared: PreparedCheck, dir: string, search: ReturnType<typeof searchOptions>, format: Format, progress: ReturnType<typeof progressPrinter>,
): number {
  if (format === 'junit' || format === 'sarif') throw new UsageError(`--format ${format} reports a whole check: merge the shards first`);
  const shard = parseShardSpec(strFlag(p, 'shard')!);
  const { system, scope, variant, driver } = prepared;
  const { path, result } = runShard(system.name, scope, variant, shard, dir, { ...search, ...(driver ? { driver } : {}), kernel: prepared.kernel, onProgress: progress.show });
  progress.clear();
  const { violation: _v, ...rest } = result;
  out(format === 'json'
    ? JSON.stringify({ ...rest, ...(result.violation ? { violation: { kind: result.violation.kind, property: result.violation.property, steps: result.violation.length } } : {}), result: path })
    : `shard ${shard.index + 1}/${shard.count}: ${result.verdict}, ${result.expanded} states expanded, ${result.transitions} transitions, ${result.seconds} s; result in ${path}; combine the shards with: pagerace merge ${dir}/${variant ?? 'fixed'}.shard-*-of-${shard.count}.json`);
  return exitCodeOfVerdict(result.verdict, result.violation?.kind);
}

// --- check --all -------------------------------------------------------------------

/** Where the committed counterexamples are: beside the package's sources. */
export const COUNTEREXAMPLES = new URL('../../counterexamples/', import.meta.url);

/** What a committed trace file says: where, at which scope and kernel, which violation, how long. */
export interface CommittedTrace {
  readonly path: string;
  readonly scope: Record<string, number>;
  readonly kernel?: string;
  readonly kind: string;
  readonly property: string;
  readonly steps: number;
}

function readCommitted(path: string): CommittedTrace {
  let f;
  try {
    f = parseTraceFile(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new InputError(`${path}: ${(e as Error).message}`);
  }
  const steps = f.states.filter((s, i) => i > 0 && !(s.meta.step as { local?: boolean }).local).length;
  return {
    path: relative(process.cwd(), path) || path, scope: { ...f.scope }, ...(f.kernel !== undefined ? { kernel: f.kernel } : {}),
    kind: f.violation.kind, property: f.violation.property, steps,
  };
}

/** A variant's committed trace: its scope, violation and length, or null when there is none. */
export function committedVariant(system: System, variant: string, dir: string = fileURLToPath(COUNTEREXAMPLES)): CommittedTrace | null {
  const path = join(dir, system.name, `${variant}.json`);
  return existsSync(path) ? readCommitted(path) : null;
}

/**
 * A system's findings (docs/findings.md): the committed traces under
 * `<dir>/<system>/findings/`, each a violation of the unmodified code at its scope.
 */
export function committedFindings(system: System, dir: string = fileURLToPath(COUNTEREXAMPLES)): (CommittedTrace & { name: string })[] {
  const at = join(dir, system.name, 'findings');
  if (!existsSync(at)) return [];
  return readdirSync(at).filter((f) => f.endsWith('.json')).sort()
    .map((f) => ({ name: basename(f, '.json'), ...readCommitted(join(at, f)) }));
}

const violationText = (c: CommittedTrace): string => `${c.kind} ${c.property}, ${c.steps} steps`;
const sameScope = (a: Readonly<Record<string, number>>, b: Readonly<Record<string, number>>): boolean =>
  Object.keys(a).length === Object.keys(b).length && Object.entries(a).every(([k, v]) => b[k] === v);

async function runAll(p: Parsed): Promise<number> {
  const format = formatOf(p);
  if (p.positional.length) throw new UsageError('check --all takes no system name (use --only to pick rows)');
  for (const k of p.flags.keys()) if (!['all', 'only', 'format', 'json', 'counterexamples'].includes(k)) throw new UsageError(`--${k} does not go with --all`);
  const dir = strFlag(p, 'counterexamples');
  const only = strFlag(p, 'only')?.split(',').map((w) => w.trim()).filter(Boolean);
  const wanted = (name: string) => !only || only.some((w) => name.includes(w));
  const rows: Row[] = [];
  const todo: { name: string; run: () => Row }[] = [];
  for (const s of SYSTEMS) {
    const findings = committedFindings(s, dir);
    if (wanted(s.name)) {
      todo.push({
        name: s.name,
        run: () => {
          // The default is the kernel's code as it is: it passes, or it reproduces a committed finding.
          const o = check(s.name, {}, null);
          const finding = findings.find((f) => sameScope(f.scope, o.scope) && (f.kernel ?? s.kernel) === o.kernel);
          const expected = finding ? violationText(finding) : 'pass';
          const row = rowOf(o, finding?.path ?? null, s.name, expected);
          const ok = row.got === expected;
          return { ...row, ok, ...(ok ? {} : { message: `expected ${expected}, got ${row.got}` }) };
        },
      });
    }
    for (const f of findings) {
      const name = `${s.name}/findings/${f.name}`;
      if (!wanted(name)) continue;
      todo.push({
        name,
        run: () => {
          const expected = violationText(f);
          const row = { ...rowOf(check(s.name, f.scope, null, f.kernel ? { kernel: f.kernel } : {}), f.path, s.name, expected), name };
          const ok = row.got === expected;
          return { ...row, ok, ...(ok ? {} : { message: `expected ${expected}, got ${row.got}` }) };
        },
      });
    }
    for (const v of s.variants) {
      const name = `${s.name}/${v.name}`;
      if (!wanted(name)) continue;
      todo.push({
        name,
        run: v.fix ? () => {
          // A fix passes where the finding it fixes fails.
          const f = findings.find((x) => x.kind === v.expect.kind && x.property === v.expect.property);
          const row = rowOf(check(s.name, f?.scope ?? {}, v.name), null, s.name, 'pass');
          return f ? row : { ...row, ok: false, message: `no committed finding of ${s.name} violates ${v.expect.property}, which ${v.name} fixes` };
        } : () => {
          const c = committedVariant(s, v.name, dir);
          const expected = c ? violationText(c) : `${v.expect.kind} ${v.expect.property} (no committed trace)`;
          const o = check(s.name, c?.scope ?? {}, v.name);
          const row = rowOf(o, c?.path ?? null, s.name, expected);
          const ok = !!c && row.got === expected && v.expect.kind === c.kind && v.expect.property === c.property;
          return { ...row, ok, ...(ok ? {} : { message: `expected ${expected}, got ${row.got}${c ? '' : `: no ${s.name}/${v.name}.json among the committed traces`}` }) };
        },
      });
    }
  }
  if (todo.length === 0) throw new UsageError(`--only ${strFlag(p, 'only')} matches no system or variant`);
  for (const [i, t] of todo.entries()) {
    err(`[${i + 1}/${todo.length}] ${t.name}`);
    rows.push(t.run());
  }
  const bad = rows.filter((r) => !r.ok).length;
  if (inGithubActions()) for (const l of githubAnnotations(rows)) err(l);
  match(format)
    .with('json', () => out(JSON.stringify({ verdict: bad ? 'unexpected' : 'as-expected', unexpected: bad, rows })))
    .with('junit', () => out(junit(rows, 'pagerace check --all')))
    .with('sarif', () => out(sarif(rows)))
    .with('text', () => {
      const head = ['', 'check', 'expected', 'got', 'seconds'];
      const body = rows.map((r) => [r.ok ? 'ok' : 'FAIL', r.name, r.expected, r.got, r.seconds.toFixed(1)]);
      const w = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
      for (const line of [head, ...body]) out(line.map((c, i) => c.padEnd(w[i])).join('  ').trimEnd());
      out(`${rows.length - bad} of ${rows.length} as expected${bad ? `; ${bad} unexpected` : ''}`);
    })
    .exhaustive();
  return bad ? 1 : 0;
}
