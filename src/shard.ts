/**
 * Past one machine: `check --shard I/N` explores a deterministic share of the space
 * (see WalkOptions.shard) and writes a result file plus the fingerprints of every
 * state it expanded; `merge` combines the N result files into one verdict, the
 * distinct state count (the union of the fingerprints) and the best violation.
 * A CI matrix runs the shards; nothing else is distributed.
 */
import { readFileSync, renameSync, writeFileSync, mkdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { InputError, check, type CheckOptions } from './index.ts';
import { toItf, traceLength } from './trace/trace.ts';
import { compareViolations, propertyRank, type Finding, type RankedViolation } from './explore/check.ts';
import type { Scope } from './system.ts';

export const SHARD_FORMAT = 'pagerace-shard/1';

export interface ShardResult {
  readonly format: typeof SHARD_FORMAT;
  readonly system: string;
  readonly config: Scope;
  readonly variant: string | null;
  readonly shard: { readonly index: number; readonly count: number };
  readonly verdict: 'pass' | 'violation' | 'incomplete';
  /** States this shard expanded (shards overlap on the common prefix). */
  readonly expanded: number;
  readonly transitions: number;
  readonly depth: number;
  readonly seconds: number;
  readonly fingerprints: string;
  readonly violation?: RankedViolation & Finding & { readonly trace: unknown };
}

export function parseShardSpec(spec: string): { index: number; count: number } {
  const m = /^(\d+)\/(\d+)$/.exec(spec);
  const index = m ? Number(m[1]) : NaN;
  const count = m ? Number(m[2]) : NaN;
  if (!m || count < 1 || count > 4096 || index < 1 || index > count) throw new InputError(`--shard must be I/N with 1 <= I <= N <= 4096, not '${spec}'`);
  return { index: index - 1, count };
}

function writeWhole(path: string, data: string | Uint8Array): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, data);
  renameSync(tmp, path);
}

/** Run one shard and write `<dir>/<name>.shard-I-of-N.json` and `.fp`; returns the JSON path and result. */
export function runShard(
  system: string, scope: Readonly<Record<string, number | undefined>>, variant: string | null,
  shard: { index: number; count: number }, dir: string, opts: CheckOptions = {},
): { path: string; result: ShardResult } {
  let lo = new Uint32Array(1 << 16);
  let hi = new Uint32Array(1 << 16);
  let n = 0;
  const outcome = check(system, scope, variant, {
    ...opts,
    shard,
    expandedFingerprint: (a, b) => {
      if (n === lo.length) {
        const lo2 = new Uint32Array(n * 2); lo2.set(lo); lo = lo2;
        const hi2 = new Uint32Array(n * 2); hi2.set(hi); hi = hi2;
      }
      lo[n] = a; hi[n] = b; n++;
    },
  });
  const name = `${variant ?? 'fixed'}.shard-${shard.index + 1}-of-${shard.count}`;
  const fps = new BigUint64Array(n);
  for (let i = 0; i < n; i++) fps[i] = (BigInt(hi[i]) << 32n) | BigInt(lo[i]);
  fps.sort();
  writeWhole(join(dir, `${name}.fp`), new Uint8Array(fps.buffer));
  const { result, trace, compiled } = outcome;
  const shardResult: ShardResult = {
    format: SHARD_FORMAT,
    system: outcome.system.name,
    config: outcome.scope,
    variant,
    shard,
    verdict: result.verdict,
    expanded: n,
    transitions: result.transitions,
    depth: result.depth,
    seconds: Number(result.seconds.toFixed(3)),
    fingerprints: `${name}.fp`,
    ...(trace ? {
      violation: {
        ...trace.violation, length: traceLength(trace.steps), preemptions: trace.preemptions,
        rank: propertyRank(compiled, trace.violation.property),
        trace: JSON.parse(toItf(compiled, trace)),
      },
    } : {}),
  };
  const path = join(dir, `${name}.json`);
  writeWhole(path, JSON.stringify(shardResult) + '\n');
  return { path, result: shardResult };
}

export interface Merged {
  readonly system: string;
  readonly config: Scope;
  readonly variant: string | null;
  readonly shards: number;
  readonly verdict: 'pass' | 'violation' | 'incomplete';
  readonly states: number;
  readonly transitions: number;
  readonly depth: number;
  readonly violation?: ShardResult['violation'];
}

/** Combine shard result files; every problem with them is an InputError. */
export function mergeShards(paths: readonly string[]): Merged {
  if (paths.length === 0) throw new InputError('merge needs the result files of every shard');
  const results: ShardResult[] = paths.map((p) => {
    let r: ShardResult;
    try {
      r = JSON.parse(readFileSync(p, 'utf8'));
    } catch (e) {
      throw new InputError(`cannot read shard result ${p}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    if (r?.format !== SHARD_FORMAT) throw new InputError(`${p} is not a pagerace shard result`);
    return r;
  });
  const first = results[0];
  const key = (r: ShardResult) => JSON.stringify([r.system, r.config, r.variant, r.shard.count]);
  for (const [i, r] of results.entries()) {
    if (key(r) !== key(first)) throw new InputError(`${paths[i]} is a shard of a different run than ${paths[0]}`);
  }
  const indices = new Set(results.map((r) => r.shard.index));
  if (indices.size !== results.length) throw new InputError('two result files are of the same shard');
  if (indices.size !== first.shard.count) {
    const missing = [...Array(first.shard.count).keys()].filter((i) => !indices.has(i)).map((i) => i + 1);
    throw new InputError(`missing shard(s) ${missing.join(', ')} of ${first.shard.count}`);
  }
  // The union of expanded states: sort all fingerprints and count distinct ones.
  const parts = results.map((r, i) => {
    const file = join(dirname(paths[i]), basename(r.fingerprints));
    try {
      const bytes = readFileSync(file);
      return new BigUint64Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
    } catch (e) {
      throw new InputError(`cannot read fingerprints ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  });
  const all = new BigUint64Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { all.set(p, at); at += p.length; }
  all.sort();
  let distinct = 0;
  for (let i = 0; i < all.length; i++) if (i === 0 || all[i] !== all[i - 1]) distinct++;

  const violations = results.flatMap((r) => (r.violation ? [r.violation] : []));
  const best = violations.reduce<ShardResult['violation'] | undefined>((b, v) => (!b || compareViolations(v!, b) < 0 ? v : b), undefined);
  const verdict = best ? 'violation' : results.some((r) => r.verdict === 'incomplete') ? 'incomplete' : 'pass';
  return {
    system: first.system, config: first.config, variant: first.variant, shards: first.shard.count, verdict,
    states: distinct,
    transitions: results.reduce((n, r) => n + r.transitions, 0),
    depth: Math.max(...results.map((r) => r.depth)),
    ...(best ? { violation: best } : {}),
  };
}

export function writeMergedTrace(dir: string, merged: Merged): string | null {
  if (!merged.violation) return null;
  const path = join(dir, `${merged.variant ?? 'fixed'}.json`);
  writeWhole(path, JSON.stringify(merged.violation.trace, null, 1) + '\n');
  return path;
}
