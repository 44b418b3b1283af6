/**
 * pagerace's library API: check a system at a scope, replay a trace file.
 * The CLI (src/cli/main.ts) is a thin layer over these.
 */
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { SYSTEMS, findSystem } from '../models/index.ts';
import { compile, type Compiled } from './explore/compile.ts';
import type { Progress, WalkResult } from './explore/walker.ts';
import { walkParallel } from './explore/parallel.ts';
import { livenessAfter, search, type SearchOptions } from './explore/search.ts';
import { namedStuck, startSearch } from './cli/background.ts';
import {
  StaleTraceError, TraceError, compareStates, countPreemptions, parseTraceFile, rebuild, replaySteps, toItf, type Trace,
} from './trace/trace.ts';
import type { Driver, Scope, System, ViolationKind } from './system.ts';
import { DriverError, driverFromModule } from './driver.ts';
import { match } from 'ts-pattern';

export { SYSTEMS, findSystem, DriverError };
export type { System, Driver };

/** A user's driver module, loaded: the driver and the path it was given as. */
export interface LoadedDriver {
  readonly path: string;
  readonly driver: Driver<never>;
}

/**
 * Load a driver module (a .ts file works when tsx is registered, as bin/pagerace.js
 * does) and check that it exports a Driver. Problems are DriverErrors of one line.
 */
export async function loadDriver(path: string, cwd = process.cwd()): Promise<LoadedDriver> {
  const file = isAbsolute(path) ? path : resolve(cwd, path);
  if (!existsSync(file)) throw new DriverError(`cannot load driver ${path}: no such file`);
  let mod: Record<string, unknown>;
  try {
    mod = await import(pathToFileURL(file).href);
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    const code = (e as NodeJS.ErrnoException | null)?.code;
    if (code === 'ERR_REQUIRE_CYCLE_MODULE' || /Cannot require\(\) ES Module/.test(msg)) {
      throw new DriverError(`cannot load driver ${path}: it was loaded as CommonJS; name it .mts or put it under a package.json with "type": "module"`);
    }
    throw new DriverError(`cannot load driver ${path}: ${msg.split('\n').find((l) => l.trim()) ?? 'import failed'}`);
  }
  return { path, driver: driverFromModule(mod, path) };
}

/** Exit codes, after TLC's (DESIGN.md). */
export const EXIT = {
  pass: 0, usage: 2, incomplete: 3, stale: 4, 'kernel-bug': 10, deadlock: 11, invariant: 12, termination: 13, interrupted: 130,
} as const;
export const exitCodeOf = (kind: ViolationKind): number =>
  match(kind)
    .with('kernel-bug', () => EXIT['kernel-bug'])
    .with('deadlock', () => EXIT.deadlock)
    .with('invariant', () => EXIT.invariant)
    .with('termination', () => EXIT.termination)
    .exhaustive();

/** The exit code of a search's verdict (DESIGN.md, "CLI contract"). */
export const exitCodeOfVerdict = (verdict: WalkResult['verdict'], kind?: ViolationKind): number =>
  match(verdict)
    .with('pass', () => EXIT.pass)
    .with('incomplete', () => EXIT.incomplete)
    .with('violation', () => exitCodeOf(kind!))
    .exhaustive();

/** A bad system, variant or scope: the CLI prints the message and exits 2. */
export class InputError extends Error {
  override name = 'InputError';
}

export function resolveSystem(name: string): System {
  const sys = findSystem(name);
  if (!sys) throw new InputError(`unknown system '${name}' (known: ${SYSTEMS.map((s) => s.name).join(', ')})`);
  return sys;
}

/** The scope, each parameter within its range: an exhaustive search's, or with `simulation`, simulate's (ScopeParam.simulateMax). */
export function resolveScope(sys: System, given: Readonly<Record<string, number | undefined>>, simulation = false): Scope {
  const scope: Record<string, number> = {};
  for (const [k, p] of Object.entries(sys.scope)) {
    const v = given[k] ?? p.default;
    const max = simulation ? p.simulateMax ?? 4 * p.max : p.max;
    if (!Number.isInteger(v) || v < p.min || v > max) throw new InputError(`--${k} must be between ${p.min} and ${max} for ${sys.name}${simulation ? ' in simulate' : ''}, not ${v}`);
    scope[k] = v;
  }
  const why = sys.scopeError?.(scope);
  if (why) throw new InputError(`${sys.name}: ${why}`);
  return scope;
}

/** The kernel a check runs: --kernel, else the variant's own, else the system's default. */
export const kernelOf = (sys: System, variant: string | null, kernel?: string): string =>
  kernel ?? sys.variants.find((v) => v.name === variant)?.kernel ?? sys.kernel;

export function resolveKernel(sys: System, kernel: string | undefined, variant: string | null = null): string {
  const known = sys.kernels ?? [sys.kernel];
  if (kernel !== undefined && !known.includes(kernel)) throw new InputError(`${sys.name} does not model kernel ${kernel} (it models: ${known.join(', ')})`);
  const own = kernelOf(sys, variant);
  if (kernel !== undefined && variant !== null && own !== kernel) {
    throw new InputError(`variant '${variant}' of ${sys.name} is of kernel ${own}, not ${kernel}`);
  }
  return kernelOf(sys, variant, kernel);
}

export function resolveVariant(sys: System, variant: string | null): string | null {
  if (variant !== null && !sys.variants.some((v) => v.name === variant)) {
    throw new InputError(`unknown variant '${variant}' of ${sys.name} (known: ${sys.variants.map((v) => v.name).join(', ')})`);
  }
  return variant;
}

export interface CheckOptions {
  readonly maxStates?: number;
  readonly maxSeconds?: number;
  readonly maxBytes?: number;
  readonly por?: boolean;
  readonly symmetry?: boolean;
  readonly shard?: { readonly index: number; readonly count: number };
  readonly expandedFingerprint?: (lo: number, hi: number) => void;
  readonly onProgress?: (p: Progress) => void;
  /** Check this driver instead of the system's own (the system must have a driverSlot). */
  readonly driver?: LoadedDriver;
  /** The kernel version to model (one of System.kernels); default the system's `kernel`. */
  readonly kernel?: string;
  /** Called with each new distinct state (coverage, tests). */
  readonly visit?: (state: Uint8Array) => void;
  /** Explore only schedules with at most this many preemptions (`--preemptions K`). */
  readonly preemptions?: SearchOptions['preemptions'];
  /** Look for livelocks after a pass (default: the model's own Model.liveness). */
  readonly liveness?: SearchOptions['liveness'];
}

/** Build a system's model, with a user's driver when one is given. */
export function buildModel(system: System, scope: Scope, variant: string | null, driver?: LoadedDriver, kernel?: string) {
  if (driver && !system.driverSlot) throw new InputError(`${system.name} takes no --driver (systems that do: ${SYSTEMS.filter((s) => s.driverSlot).map((s) => s.name).join(', ') || 'none'})`);
  const k = resolveKernel(system, kernel, variant);
  // Only a version other than the default is passed, so systems that model one need not know the argument.
  return k === system.kernel ? system.build(scope, variant, driver?.driver) : system.build(scope, variant, driver?.driver, k);
}

export interface CheckOutcome {
  readonly system: System;
  /** The kernel version checked. */
  readonly kernel: string;
  readonly scope: Scope;
  readonly variant: string | null;
  readonly compiled: Compiled;
  readonly result: WalkResult;
  readonly trace?: Trace;
}

export function check(systemName: string, given: Readonly<Record<string, number | undefined>>, variant: string | null, opts: CheckOptions = {}): CheckOutcome {
  const prepared = prepareCheck(systemName, given, variant, opts.driver, opts.kernel);
  const por = opts.por ?? true;
  return checkOutcome(prepared, search(prepared.compiled, { ...opts, por }), opts);
}

/**
 * check() in a worker thread that this thread stops when `maxSeconds` has passed,
 * even inside a step that never returns (a user's driver looping): the result is
 * then incomplete and its limit names the step. The worker is the one a one-thread
 * `pagerace check` runs its search in (cli/background.ts), so Ctrl-C and the
 * watchdog share it.
 */
export async function checkWatched(
  systemName: string, given: Readonly<Record<string, number | undefined>>, variant: string | null, opts: Omit<CheckOptions, 'expandedFingerprint' | 'shard' | 'visit'> = {},
): Promise<CheckOutcome> {
  const prepared = prepareCheck(systemName, given, variant, opts.driver, opts.kernel);
  const { onProgress, driver: _d, ...data } = opts;
  const bg = await startSearch(modelSpec(prepared), { ...data, por: opts.por ?? true }, false, onProgress, { sigint: false }).done;
  return checkOutcome(prepared, namedStuck(prepared.compiled, bg, opts.maxSeconds), opts);
}

/**
 * check() on `workers` worker threads (see explore/parallel.ts): the same verdict,
 * distinct state count and shortest violation length. Shards are not split further.
 */
export async function checkParallel(
  systemName: string, given: Readonly<Record<string, number | undefined>>, variant: string | null,
  opts: Omit<CheckOptions, 'shard' | 'expandedFingerprint'> & { readonly workers: number },
): Promise<CheckOutcome> {
  const prepared = prepareCheck(systemName, given, variant, opts.driver, opts.kernel);
  const safety = await walkParallel(prepared.compiled, { module: SOURCE_MODULE, export: 'compiledFor', args: modelSpec(prepared) }, { ...opts, por: opts.por ?? true });
  // The liveness pass (when the model or the options ask for it) runs on this thread.
  const result = livenessAfter(prepared.compiled, safety, opts);
  return checkOutcome(prepared, result, opts);
}

/** The module worker threads import compiledFor from. */
export const SOURCE_MODULE = import.meta.url;

/** What a worker thread needs to build the same compiled system as the caller. */
export interface ModelSpec {
  readonly system: string;
  readonly scope: Scope;
  readonly variant: string | null;
  /** A user's driver module, as given on the command line (relative to the working directory). */
  readonly driver?: string;
  readonly kernel?: string;
}

export async function compiledFor(spec: ModelSpec): Promise<Compiled> {
  const driver = spec.driver === undefined ? undefined : await loadDriver(spec.driver);
  return prepareCheck(spec.system, spec.scope, spec.variant, driver, spec.kernel).compiled;
}

/** A system, scope, variant and kernel resolved (every input error thrown here) and compiled. */
export interface PreparedCheck {
  readonly system: System;
  readonly scope: Scope;
  readonly variant: string | null;
  readonly kernel: string;
  readonly driver?: LoadedDriver;
  readonly compiled: Compiled;
}

export function prepareCheck(
  systemName: string, given: Readonly<Record<string, number | undefined>>, variant: string | null, driver?: LoadedDriver, kernel?: string,
): PreparedCheck {
  const system = resolveSystem(systemName);
  const scope = resolveScope(system, given);
  resolveVariant(system, variant);
  const k = resolveKernel(system, kernel, variant);
  return { system, scope, variant, kernel: k, ...(driver ? { driver } : {}), compiled: compile(buildModel(system, scope, variant, driver, k)) };
}

/** What a worker thread needs to build the same compiled model. */
export const modelSpec = (p: PreparedCheck): ModelSpec => ({
  system: p.system.name, scope: p.scope, variant: p.variant, ...(p.driver ? { driver: p.driver.path } : {}), ...(p.kernel !== p.system.kernel ? { kernel: p.kernel } : {}),
});

/** A walk's result with its violation rebuilt into a full trace. */
export function checkOutcome(p: PreparedCheck, result: WalkResult, opts: Pick<CheckOptions, 'por'> = {}): CheckOutcome {
  const { system, scope, variant, compiled, kernel } = p;
  // A lasso (a livelock) comes back with its loop index from rebuild (trace.ts, lassoOf).
  const trace = result.violation
    ? rebuild(compiled, result.violation, { system: system.name, kernel, scope, variant, ...(p.driver ? { driver: p.driver.path } : {}) }, opts.por ?? true)
    : undefined;
  return { system, kernel, scope, variant, compiled, result, ...(trace ? { trace } : {}) };
}

/**
 * Write a trace file whole or not at all (write aside, then rename). A driver's path
 * is stored relative to the trace file's directory, so that `replay` finds the
 * driver from any working directory (and after the two are moved together).
 */
export function writeTrace(dir: string, name: string, compiled: Compiled, trace: Trace): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${name}.json`);
  const tmp = `${path}.tmp-${process.pid}`;
  const driver = trace.driver === undefined ? undefined : relative(resolve(dir), resolve(trace.driver)).split(sep).join('/');
  writeFileSync(tmp, toItf(compiled, trace, driver === undefined ? {} : { driver }));
  renameSync(tmp, path);
  return path;
}

export interface ReplayOutcome {
  readonly compiled: Compiled;
  /** The re-executed trace; its preemptions are counted on the re-execution. */
  readonly trace: Trace;
  readonly expected: ReturnType<typeof parseTraceFile>['violation'];
  /** The preemptions the file records. */
  readonly recordedPreemptions?: number;
  /** The same violation, at the same step. */
  readonly matches: boolean;
}

/**
 * Re-execute a trace file against the core and compare every state of the file with
 * the re-executed one. A trace found with a user's driver names it in #meta.driver;
 * pass the loaded driver (see driverOfTrace) to replay it.
 * Throws TraceError (exit 2) for a malformed file or a state that differs, and
 * StaleTraceError (exit 4) when the trace no longer applies: a step is not possible,
 * or the steps no longer end in a violation.
 */
export function replay(text: string, driver?: LoadedDriver): ReplayOutcome {
  const file = parseTraceFile(text);
  const system = resolveSystem(file.system);
  // A trace may come from simulate, at a scope no exhaustive search takes.
  const scope = resolveScope(system, file.scope, true);
  resolveVariant(system, file.variant);
  if (file.driver !== undefined && !driver) throw new InputError(`the trace was found with --driver ${file.driver}; load that driver to replay it`);
  // A trace of a kernel version this system no longer models does not apply.
  if (file.kernel !== undefined && !(system.kernels ?? [system.kernel]).includes(file.kernel)) {
    throw new StaleTraceError(`the trace no longer applies: ${system.name} does not model kernel ${file.kernel} (it models: ${(system.kernels ?? [system.kernel]).join(', ')})`);
  }
  const kernel = file.kernel ?? system.kernel;
  const compiled = compile(buildModel(system, scope, file.variant, driver, kernel));
  const r = replaySteps(compiled, file.steps);
  // A lasso reproduces when its steps come back to the state where its loop starts.
  if (!r.finding && file.loop !== undefined && sameState(r.states[file.loop], r.states[r.states.length - 1])) {
    r.finding = file.violation;
  }
  if (!r.finding) {
    throw new StaleTraceError(`the trace no longer applies: its ${file.steps.length} steps run without a violation (it recorded ${file.violation.kind} ${file.violation.property})`);
  }
  const matches = r.finding.kind === file.violation.kind && r.finding.property === file.violation.property && r.steps.length === file.steps.length;
  // A different violation is the news; a trace that reproduces its own is held to every state it records.
  if (matches) compareStates(compiled, file.states, r.states, r.steps);
  const trace: Trace = {
    system: system.name, kernel, scope, variant: file.variant, ...(driver ? { driver: driver.path } : {}),
    violation: r.finding, preemptions: countPreemptions(compiled, r.steps, r.states), steps: r.steps, states: r.states,
    ...(file.loop !== undefined ? { loop: file.loop } : {}),
  };
  return { compiled, trace, expected: file.violation, ...(file.preemptions !== undefined ? { recordedPreemptions: file.preemptions } : {}), matches };
}

const sameState = (a: Uint8Array | undefined, b: Uint8Array | undefined): boolean =>
  a !== undefined && b !== undefined && a.length === b.length && a.every((x, i) => x === b[i]);

/**
 * The driver a trace file was found with (#meta.driver), loaded, or undefined. The
 * path is relative to the trace file's directory (`tracePath`; without it, to `cwd`).
 */
export async function driverOfTrace(text: string, tracePath?: string, cwd = process.cwd()): Promise<LoadedDriver | undefined> {
  const file = parseTraceFile(text);
  if (file.driver === undefined) return undefined;
  const base = tracePath === undefined ? cwd : dirname(resolve(cwd, tracePath));
  return loadDriver(isAbsolute(file.driver) ? file.driver : resolve(base, file.driver), cwd);
}

export { TraceError, StaleTraceError };
