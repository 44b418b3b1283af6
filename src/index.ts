/**
 * pagerace's library API: check a system at a scope, replay a trace file.
 * The CLI (src/cli/main.ts) is a thin layer over these.
 */
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { SYSTEMS, findSystem } from '../models/index.ts';
import { compile, type Compiled } from './explore/compile.ts';
import { walk, type Progress, type WalkResult } from './explore/walker.ts';
import { walkParallel } from './explore/parallel.ts';
import { rebuild, replaySteps, toItf, parseTraceFile, TraceError, type Trace } from './trace/trace.ts';
import type { Driver, Scope, System, ViolationKind } from './system.ts';
import { DriverError, driverFromModule } from './driver.ts';

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
export const EXIT = { pass: 0, usage: 2, incomplete: 3, 'kernel-bug': 10, deadlock: 11, invariant: 12, termination: 13 } as const;
export const exitCodeOf = (kind: ViolationKind): number => EXIT[kind];

/** A bad system, variant or scope: the CLI prints the message and exits 2. */
export class InputError extends Error {
  override name = 'InputError';
}

export function resolveSystem(name: string): System {
  const sys = findSystem(name);
  if (!sys) throw new InputError(`unknown system '${name}' (known: ${SYSTEMS.map((s) => s.name).join(', ')})`);
  return sys;
}

export function resolveScope(sys: System, given: Readonly<Record<string, number | undefined>>): Scope {
  const scope: Record<string, number> = {};
  for (const [k, p] of Object.entries(sys.scope)) {
    const v = given[k] ?? p.default;
    if (!Number.isInteger(v) || v < p.min || v > p.max) throw new InputError(`--${k} must be between ${p.min} and ${p.max} for ${sys.name}, not ${v}`);
    scope[k] = v;
  }
  return scope;
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
  /** One of the system's kernels (absent: the variant's, else the system's default). */
  readonly kernel?: string;
}

/** Build a system's model, with a user's driver when one is given. */
export function buildModel(system: System, scope: Scope, variant: string | null, driver?: LoadedDriver, kernel?: string) {
  if (driver && !system.driverSlot) throw new InputError(`${system.name} takes no --driver (systems that do: ${SYSTEMS.filter((s) => s.driverSlot).map((s) => s.name).join(', ') || 'none'})`);
  return kernel === undefined ? system.build(scope, variant, driver?.driver) : system.build(scope, variant, driver?.driver, kernel);
}

/** The kernel a check runs: --kernel, else the variant's own, else the system's default. */
export const kernelOf = (system: System, variant: string | null, kernel?: string): string =>
  kernel ?? system.variants.find((v) => v.name === variant)?.kernel ?? system.kernel;

export interface CheckOutcome {
  readonly system: System;
  readonly scope: Scope;
  readonly variant: string | null;
  readonly compiled: Compiled;
  readonly result: WalkResult;
  readonly trace?: Trace;
}

export function check(systemName: string, given: Readonly<Record<string, number | undefined>>, variant: string | null, opts: CheckOptions = {}): CheckOutcome {
  const { system, scope, compiled } = prepare(systemName, given, variant, opts.driver, opts.kernel);
  const por = opts.por ?? true;
  return outcome(system, scope, variant, compiled, walk(compiled, { ...opts, por }), opts);
}

/**
 * check() on `workers` worker threads (see explore/parallel.ts): the same verdict,
 * distinct state count and shortest violation length. Shards are not split further.
 */
export async function checkParallel(
  systemName: string, given: Readonly<Record<string, number | undefined>>, variant: string | null,
  opts: Omit<CheckOptions, 'shard' | 'expandedFingerprint'> & { readonly workers: number },
): Promise<CheckOutcome> {
  const { system, scope, compiled } = prepare(systemName, given, variant, opts.driver, opts.kernel);
  const spec: ModelSpec = { system: system.name, scope, variant, ...(opts.driver ? { driver: opts.driver.path } : {}), ...(opts.kernel ? { kernel: opts.kernel } : {}) };
  const source = { module: SOURCE_MODULE, export: 'compiledFor', args: spec };
  const result = await walkParallel(compiled, source, { ...opts, por: opts.por ?? true });
  return outcome(system, scope, variant, compiled, result, opts);
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
  return prepare(spec.system, spec.scope, spec.variant, driver, spec.kernel).compiled;
}

function prepare(systemName: string, given: Readonly<Record<string, number | undefined>>, variant: string | null, driver?: LoadedDriver, kernel?: string) {
  const system = resolveSystem(systemName);
  const scope = resolveScope(system, given);
  resolveVariant(system, variant);
  if (kernel !== undefined && variant !== null && kernelOf(system, variant) !== kernel) {
    throw new InputError(`variant '${variant}' of ${system.name} is of kernel ${kernelOf(system, variant)}, not ${kernel}`);
  }
  return { system, scope, compiled: compile(buildModel(system, scope, variant, driver, kernel)) };
}

function outcome(system: System, scope: Scope, variant: string | null, compiled: Compiled, result: WalkResult, opts: CheckOptions): CheckOutcome {
  const trace = result.violation
    ? rebuild(compiled, result.violation, { system: system.name, kernel: kernelOf(system, variant, opts.kernel), scope, variant, ...(opts.driver ? { driver: opts.driver.path } : {}) }, opts.por ?? true)
    : undefined;
  return { system, scope, variant, compiled, result, trace };
}

/** Write a trace file whole or not at all (write aside, then rename). */
export function writeTrace(dir: string, name: string, compiled: Compiled, trace: Trace): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${name}.json`);
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, toItf(compiled, trace));
  renameSync(tmp, path);
  return path;
}

export interface ReplayOutcome {
  readonly compiled: Compiled;
  readonly trace: Trace | null;
  readonly expected: ReturnType<typeof parseTraceFile>['violation'];
  readonly matches: boolean;
}

/**
 * Re-execute a trace file against the core. A trace found with a user's driver names
 * it in #meta.driver; pass the loaded driver (see driverOfTrace) to replay it.
 */
export function replay(text: string, driver?: LoadedDriver): ReplayOutcome {
  const file = parseTraceFile(text);
  const system = resolveSystem(file.system);
  const scope = resolveScope(system, file.scope);
  resolveVariant(system, file.variant);
  if (file.driver !== undefined && !driver) throw new InputError(`the trace was found with --driver ${file.driver}; load that driver to replay it`);
  const compiled = compile(buildModel(system, scope, file.variant, driver));
  const r = replaySteps(compiled, file.steps);
  const trace: Trace | null = r.finding
    ? { system: system.name, kernel: system.kernel, scope, variant: file.variant, ...(driver ? { driver: driver.path } : {}), violation: r.finding, preemptions: 0, steps: r.steps, states: r.states }
    : null;
  const matches = !!r.finding && r.finding.kind === file.violation.kind && r.finding.property === file.violation.property && r.steps.length === file.steps.length;
  return { compiled, trace, expected: file.violation, matches };
}

/** The driver a trace file was found with (#meta.driver), loaded, or undefined. */
export async function driverOfTrace(text: string, cwd = process.cwd()): Promise<LoadedDriver | undefined> {
  const file = parseTraceFile(text);
  return file.driver === undefined ? undefined : loadDriver(file.driver, cwd);
}

export { TraceError };
