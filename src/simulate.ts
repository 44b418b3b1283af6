/**
 * `pagerace simulate` as a library call: random schedules of a system at a scope
 * up to its simulate maxima (explore/simulate.ts), and a failure's trace rebuilt
 * and replayed like every trace `check` writes.
 */
import { InputError, buildModel, resolveKernel, resolveScope, resolveSystem, resolveVariant } from './index.ts';
import { compile, type Compiled } from './explore/compile.ts';
import { simulate, type SimulateOptions, type SimulateResult } from './explore/simulate.ts';
import { rebuild, type Trace } from './trace/trace.ts';
import type { Scope, System } from './system.ts';

export interface SimulateOutcome {
  readonly system: System;
  readonly scope: Scope;
  /** The kernel version simulated: the variant's own, else the system's. */
  readonly kernel: string;
  readonly variant: string | null;
  readonly compiled: Compiled;
  readonly result: SimulateResult;
  readonly trace?: Trace;
}

export function simulateSystem(
  systemName: string, given: Readonly<Record<string, number | undefined>>, variant: string | null, opts: SimulateOptions,
): SimulateOutcome {
  const system = resolveSystem(systemName);
  const scope = resolveScope(system, given, true);
  resolveVariant(system, variant);
  const kernel = resolveKernel(system, undefined, variant);
  let compiled: Compiled;
  try {
    compiled = compile(buildModel(system, scope, variant, undefined, kernel));
  } catch (e) {
    throw new InputError(`${system.name} cannot be built at ${Object.entries(scope).map(([k, v]) => `--${k} ${v}`).join(' ')}: ${e instanceof Error ? e.message : String(e)}`);
  }
  const result = simulate(compiled, opts);
  const por = opts.por ?? true;
  const trace = result.violation
    ? rebuild(compiled, result.violation, { system: system.name, kernel, scope, variant }, por)
    : undefined;
  return { system, scope, kernel, variant, compiled, result, trace };
}
