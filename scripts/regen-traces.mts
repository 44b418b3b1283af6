// Regenerate committed counterexamples after a deliberate model change: every
// counterexamples/<system>/**/<name>.json is checked again at the system, scope,
// kernel and variant its own #meta records, and rewritten in place (same name).
// Usage: npx tsx scripts/regen-traces.mts [system ...]   (default: every system)
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, basename } from 'node:path';
import { check, writeTrace } from '../src/index.ts';

const root = new URL('../counterexamples', import.meta.url).pathname;
const files = (dir: string): string[] => readdirSync(dir).flatMap((f) => {
  const p = join(dir, f);
  return statSync(p).isDirectory() ? files(p) : f.endsWith('.json') ? [p] : [];
});
const only = process.argv.slice(2);
let failed = 0;
for (const sys of readdirSync(root).filter((s) => !only.length || only.includes(s))) {
  for (const file of files(join(root, sys))) {
    const meta = JSON.parse(readFileSync(file, 'utf8'))['#meta'];
    const o = check(meta.system, meta.scope, meta.variant ?? null, meta.kernel ? { kernel: meta.kernel } : {});
    const name = basename(file, '.json');
    if (!o.trace) { failed++; console.log(`${file}: ${o.result.verdict}, no trace (left as it was)`); continue; }
    writeTrace(dirname(file), name, o.compiled, o.trace);
    console.log(`${sys}/${name}: ${o.result.violation!.property}, ${o.trace.steps.filter((s) => !s.local).length} steps, ${o.result.states} states`);
  }
}
process.exit(failed ? 1 : 0);
