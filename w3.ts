import { nonlru } from './models/nonlru/index.ts';
import { compile } from './src/explore/compile.ts';
import { walk } from './src/explore/walker.ts';
for (const v of nonlru.variants) {
  const c = compile(nonlru.build({ cpus: 2, pages: 2 }, v.name));
  const r = walk(c);
  console.log(v.name, r.verdict, r.states, r.violation?.kind, r.violation?.property, r.violation?.steps.length, r.violation?.preemptions, '| expect', v.expect.kind, v.expect.property, '|', r.violation?.message);
}
