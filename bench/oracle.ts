// The walker against @xstate/graph's traversal of the same machines, in one run:
// states per second of each, and their ratio. Usage: npm run bench [-- cpus pages]
import { getAdjacencyMap } from '@xstate/graph';
import { nonlru } from '../models/nonlru/index.ts';
import { compile } from '../src/explore/compile.ts';
import { walk } from '../src/explore/walker.ts';
import { packSnapshot, systemLogic, type SystemSnapshot } from '../src/explore/xstate-logic.ts';

const [cpus, pages] = [Number(process.argv[2] ?? 2), Number(process.argv[3] ?? 1)];
const scope = { cpus, pages };
const model = nonlru.build(scope, null);
const c = compile(model);

const w = walk(c, { por: false });
const { logic, eventsAt } = systemLogic(model);
const t0 = performance.now();
const adj = getAdjacencyMap(logic as never, {
  events: eventsAt as never,
  serializeState: ((s: SystemSnapshot) => packSnapshot(model, s, c.actors.map((a) => [...a.states]))) as never,
  limit: 1e8,
});
const gSeconds = (performance.now() - t0) / 1000;
const gStates = Object.keys(adj).length;
const wRate = w.states / w.seconds;
const gRate = gStates / gSeconds;
const rows = [
  ['engine', 'states', 'seconds', 'states/s'],
  ['@xstate/graph getAdjacencyMap', gStates, gSeconds.toFixed(2), Math.round(gRate)],
  ['pagerace walker (no reduction)', w.states, w.seconds.toFixed(2), Math.round(wRate)],
];
console.log(`nonlru --cpus ${cpus} --pages ${pages}, the same XState machines, one run`);
for (const r of rows) console.log(r.map((x, i) => String(x).padEnd(i ? 12 : 32)).join(''));
console.log(`walker / @xstate/graph: ${(wRate / gRate).toFixed(0)}x states per second`);
