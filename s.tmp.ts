import { nonlru } from './models/nonlru/index.ts';
import { compile } from './src/explore/compile.ts';
import { simulate } from './src/explore/simulate.ts';
const [cpus, pages, variant, seed] = [Number(process.argv[2]), Number(process.argv[3]), process.argv[4] === 'null' ? null : process.argv[4], Number(process.argv[5] ?? 1)];
const c = compile(nonlru.build({ cpus, pages }, variant));
const r = simulate(c, { runs: 100000, seed, maxSeconds: 60 });
const { violation, ...rest } = r;
console.log(JSON.stringify(rest), violation && { ...violation, steps: violation.steps.length });
