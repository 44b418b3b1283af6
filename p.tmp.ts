import { nonlru } from './models/nonlru/index.ts';
import { compile } from './src/explore/compile.ts';
import { runSchedule } from './src/explore/simulate.ts';
const c = compile(nonlru.build({ cpus: 8, pages: 16 }, null));
let steps = 0; const t0 = performance.now();
for (let i = 0; i < 20; i++) { const ch = Array.from({ length: 4096 }, (_, k) => (k * 2654435761 + i * 97) >>> 16); const r = runSchedule(c, ch); steps += r.steps.length; }
const s = (performance.now() - t0) / 1000;
console.log('steps', steps, 's', s.toFixed(2), 'us/step', (s * 1e6 / steps).toFixed(1));
