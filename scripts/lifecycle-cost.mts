// The page-lifecycle monitor's cost: the same check with and without it, back to
// back, alternating, in one process (the machine is shared: compare ratios).
// Usage: npx tsx scripts/lifecycle-cost.mts <system> [rounds] [--no-symmetry --no-por]
import { findSystem } from '../models/index.ts';
import { compile } from '../src/explore/compile.ts';
import { walk } from '../src/explore/walker.ts';

const args = process.argv.slice(2);
const name = args[0] ?? 'nonlru';
const rounds = Number(args.find((a, i) => i > 0 && /^\d+$/.test(a)) ?? 2);
const reduce = !args.includes('--no-symmetry');
const SCOPES: Record<string, Record<string, number>> = {
  nonlru: { cpus: 2, pages: 2, mix: 4 }, balloon: { cpus: 2, pages: 2 }, zsmalloc: { cpus: 2, zspages: 1, objects: 2 },
};
const model = findSystem(name)!.build(SCOPES[name], null);
const without = { ...model, properties: model.properties.filter((p) => p.name !== 'page-lifecycle') };
const run = (m: typeof model) => {
  const r = walk(compile(m), { symmetry: reduce, por: reduce });
  return { states: r.states, seconds: r.seconds };
};
for (let i = 0; i < rounds; i++) {
  const a = run(model);
  const b = run(without);
  console.log(`${name} round ${i + 1}: with ${a.seconds.toFixed(2)} s (${a.states} states), without ${b.seconds.toFixed(2)} s: +${(100 * (a.seconds / b.seconds - 1)).toFixed(0)}%`);
}
