// Sharding and limits: shards merged give the unsharded verdict and distinct state
// count; every limit stops cleanly with exit 3 and partial figures.
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { check } from '../src/index.ts';
import { mergeShards, runShard } from '../src/shard.ts';

describe('--shard I/N and merge', () => {
  for (const variant of [null, 'driver-touches-isolated-lru']) {
    it(`merged shards equal the unsharded run (${variant ?? 'fixed'})`, () => {
      const scope = { cpus: 2, pages: variant ? 2 : 1 };
      const dir = mkdtempSync(join(tmpdir(), 'pagerace-shard-'));
      const whole = check('nonlru', scope, variant);
      const paths = [0, 1, 2].map((index) => runShard('nonlru', scope, variant, { index, count: 3 }, dir).path);
      const merged = mergeShards(paths);
      expect(merged.verdict).toBe(whole.result.verdict);
      if (whole.result.verdict === 'pass') expect(merged.states).toBe(whole.result.states);
      expect(merged.violation?.property).toBe(whole.result.violation?.property);
      if (whole.trace) expect(merged.violation!.length).toBe(whole.trace.steps.filter((s) => !s.local).length);
      expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    }, 60_000);
  }

  it('refuses an incomplete set of shards', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pagerace-shard-'));
    const p = runShard('nonlru', { cpus: 1, pages: 1 }, null, { index: 0, count: 2 }, dir).path;
    expect(() => mergeShards([p])).toThrow(/missing shard\(s\) 2 of 2/);
  });
});

describe('limits', () => {
  it('--max-seconds, --max-states and the memory ceiling stop with partial figures', () => {
    const bySeconds = check('nonlru', { cpus: 2, pages: 2 }, null, { maxSeconds: 0 }).result;
    expect(bySeconds.verdict).toBe('incomplete');
    expect(bySeconds.limit).toMatch(/--max-seconds/);
    const byStates = check('nonlru', { cpus: 2, pages: 2 }, null, { maxStates: 5000 }).result;
    expect(byStates).toMatchObject({ verdict: 'incomplete', states: 5000 });
    const byMemory = check('nonlru', { cpus: 2, pages: 2 }, null, { maxBytes: 4 * 2 ** 20 }).result;
    expect(byMemory.verdict).toBe('incomplete');
    expect(byMemory.limit).toMatch(/--max-memory/);
    expect(byMemory.states).toBeGreaterThan(0);
  });
});
