// Regenerate the committed traces of contig and reporting (variants and findings).
import { mkdirSync, renameSync, rmSync, readdirSync } from 'node:fs';
import { check, writeTrace } from '../src/index.ts';
import { CONTIG_VARIANTS, CONTIG_FINDINGS } from '../models/contig/variants.ts';
import { REPORTING_VARIANTS } from '../models/reporting/variants.ts';
const root = new URL('../counterexamples', import.meta.url).pathname;
const which = process.argv[2] ?? 'all';
function one(sys: string, scope: Record<string, number>, variant: string | null, dir: string, name: string, opts: Record<string, unknown> = {}) {
  const o = check(sys, scope, variant, opts as never);
  if (!o.trace) { console.log(`${sys} ${variant} ${JSON.stringify(scope)}: ${o.result.verdict} (no trace)`); return; }
  writeTrace(dir, name, o.compiled, o.trace);
  console.log(`${sys} ${name}: ${o.result.violation!.property} ${o.trace.steps.length} steps, ${o.result.states} states`);
}
if (which === 'all' || which === 'contig') {
  for (const v of CONTIG_VARIANTS) if (!v.fix) one('contig', v.scope, v.name, `${root}/contig`, v.name);
  for (const f of CONTIG_FINDINGS) one('contig', f.scope, null, `${root}/contig/findings`, f.name);
}
if (which === 'all' || which === 'reporting') {
  for (const v of REPORTING_VARIANTS as any[]) if (!v.fix) one('reporting', v.scope ?? {}, v.name, `${root}/reporting`, v.name, v.kernel ? { kernel: v.kernel } : {});
}
