/**
 * pagerace's library API: check a system at a scope, replay a trace file.
 * The CLI (src/cli/main.ts) is a thin layer over these.
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SYSTEMS, findSystem } from '../models/index.ts';
import { compile, type Compiled } from './explore/compile.ts';
import { walk, type Progress, type WalkResult } from './explore/walker.ts';
import { rebuild, replaySteps, toItf, parseTraceFile, TraceError, type Trace } from './trace/trace.ts';
import type { Scope, System, ViolationKind } from './system.ts';

export { SYSTEMS, findSystem };
export type { System };

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
}

export interface CheckOutcome {
  readonly system: System;
  readonly scope: Scope;
  readonly variant: string | null;
  readonly compiled: Compiled;
  readonly result: WalkResult;
  readonly trace?: Trace;
}

export function check(systemName: string, given: Readonly<Record<string, number | undefined>>, variant: string | null, opts: CheckOptions = {}): CheckOutcome {
  const system = resolveSystem(systemName);
  const scope = resolveScope(system, given);
  resolveVariant(system, variant);
  const compiled = compile(system.build(scope, variant));
  const por = opts.por ?? true;
  const result = walk(compiled, { ...opts, por });
  const trace = result.violation
    ? rebuild(compiled, result.violation, { system: system.name, kernel: system.kernel, scope, variant }, por)
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

/** Re-execute a trace file against the core. */
export function replay(text: string): ReplayOutcome {
  const file = parseTraceFile(text);
  const system = resolveSystem(file.system);
  const scope = resolveScope(system, file.scope);
  resolveVariant(system, file.variant);
  const compiled = compile(system.build(scope, file.variant));
  const r = replaySteps(compiled, file.steps);
  const trace: Trace | null = r.finding
    ? { system: system.name, kernel: system.kernel, scope, variant: file.variant, violation: r.finding, preemptions: 0, steps: r.steps, states: r.states }
    : null;
  const matches = !!r.finding && r.finding.kind === file.violation.kind && r.finding.property === file.violation.property && r.steps.length === file.steps.length;
  return { compiled, trace, expected: file.violation, matches };
}

export { TraceError };
