/**
 * `pagerace simulate` (a command of commands.ts): random schedules at
 * scopes no exhaustive search holds. A failure prints the seed that reproduces it
 * and writes its shrunk trace where `check` writes traces; a pass says how many
 * schedules it covered and is never an exhaustive pass.
 */
import { EXIT, SYSTEMS, exitCodeOf, resolveSystem, writeTrace } from '../index.ts';
import { simulateSystem } from '../simulate.ts';
import { describeViolation, swimlanes } from '../trace/render.ts';
import { traceLength } from '../trace/trace.ts';
import { UsageError, intFlag, numFlag, strFlag, type OptionTable, type Parsed } from './args.ts';
import { scopeOptions } from './check.ts';
import { checkOutDir, out } from './io.ts';
import type { Command } from './commands.ts';

const OPTIONS: OptionTable = {
  ...scopeOptions(),
  variant: { type: 'string', value: 'NAME', help: 'put a known bug back (pagerace list shows them)' },
  runs: { type: 'string', value: 'N', help: 'how many random schedules (default 1000)' },
  seed: { type: 'string', value: 'S', help: 'the random seed (default 1); the same seed gives the same schedules' },
  'max-seconds': { type: 'string', value: 'S', help: 'stop (exit 3) after S seconds' },
  'max-steps': { type: 'string', value: 'N', help: 'cut each schedule after N steps' },
  out: { type: 'string', value: 'DIR', help: 'where a failure\'s trace goes (default out/<system>)' },
  json: { type: 'boolean', help: 'one JSON object on stdout' },
};

export const simulateCmd: Command = {
  name: 'simulate',
  summary: 'random schedules at scopes no exhaustive search holds; a failure shrunk to a trace that replays',
  usage: 'simulate <system> [scope flags] [--variant NAME] [--runs N] [--seed S] [--max-seconds S] [--max-steps N] [--out DIR] [--json]',
  options: OPTIONS,
  more: () => ['', 'scope flags per system (simulate takes up to 4x the exhaustive maxima, or the system\'s own simulate maximum,',
    'as long as the world fits: a migration world holds at most 127 pages, counting every CPU\'s targets):',
    ...SYSTEMS.flatMap((s) => [`  ${s.name}:`, ...Object.entries(s.scope).map(([k, v]) => `    --${k} ${v.min}..${v.simulateMax ?? 4 * v.max} (default ${v.default}): ${v.description}`)]),
    '', 'exit: 0 no violation in the schedules run (never an exhaustive pass), 10 to 13 a violation, 3 stopped by --max-seconds, 2 bad usage'],
  run: runSimulate,
};

function runSimulate(p: Parsed): number {
  if (p.positional.length !== 1) throw new UsageError('simulate needs exactly one system name');
  const system = resolveSystem(p.positional[0]);
  const given: Record<string, number | undefined> = {};
  for (const k of Object.keys(scopeOptions())) {
    if (p.flags.has(k) && !(k in system.scope)) throw new UsageError(`--${k} is not a scope parameter of ${system.name}`);
  }
  for (const [k, v] of Object.entries(system.scope)) given[k] = intFlag(p, k, v.min, v.simulateMax ?? 4 * v.max);
  const variant = strFlag(p, 'variant') ?? null;
  const dir = strFlag(p, 'out') ?? `out/${system.name}`;
  checkOutDir(dir);
  const runs = intFlag(p, 'runs', 1, 2 ** 31) ?? 1000;
  const seed = intFlag(p, 'seed', -(2 ** 31), 2 ** 31 - 1) ?? 1;
  const maxSeconds = numFlag(p, 'max-seconds', 0);
  const maxSteps = intFlag(p, 'max-steps', 1, 2 ** 20);
  const json = p.flags.has('json');
  const o = simulateSystem(system.name, given, variant, {
    runs, seed, ...(maxSeconds !== undefined ? { maxSeconds } : {}), ...(maxSteps !== undefined ? { maxSteps } : {}),
    ...(json ? {} : { onProgress: (x: { runs: number; steps: number; seconds: number }) => process.stderr.write(`runs ${x.runs}  steps ${x.steps}  ${x.seconds.toFixed(0)} s\n`) }),
  });
  const r = o.result;
  const name = `${variant ?? 'fixed'}.seed-${seed}`;
  const tracePath = o.trace ? writeTrace(dir, name, o.compiled, o.trace) : null;
  const code = r.verdict === 'pass' ? EXIT.pass : r.verdict === 'incomplete' ? EXIT.incomplete : exitCodeOf(r.violation!.kind);
  const scopeText = Object.entries(o.scope).map(([k, v]) => `--${k} ${v}`).join(' ');
  const again = `pagerace simulate ${system.name} ${scopeText}${variant ? ` --variant ${variant}` : ''} --runs ${runs} --seed ${seed}`;
  if (json) {
    out(JSON.stringify({
      system: system.name, config: o.scope, variant, verdict: r.verdict, exhaustive: false, runs: r.runs, seed, steps: r.steps,
      seconds: Number(r.seconds.toFixed(3)), schedulesPerSecond: Math.round(r.runs / Math.max(r.seconds, 1e-9)),
      ...(r.limit ? { limit: r.limit } : {}),
      ...(o.trace ? {
        violation: {
          property: o.trace.violation.property, kind: o.trace.violation.kind, message: o.trace.violation.message,
          steps: traceLength(o.trace.steps), preemptions: o.trace.preemptions, trace: tracePath, shrinking: r.shrinking,
          ...(o.liftedFrom ? { liftedFrom: o.liftedFrom } : {}), reproduce: again,
        },
      } : {}),
    }));
    return code;
  }
  out(`${system.name} (kernel ${o.kernel}) ${scopeText}${variant ? ` --variant ${variant}` : ''}, random schedules, seed ${seed}`);
  const covered = `${r.runs} schedule${r.runs === 1 ? '' : 's'}, ${r.steps} steps, ${r.seconds.toFixed(2)} s`;
  if (r.verdict === 'pass') out(`pass over ${covered} (not exhaustive: random schedules only)`);
  else if (r.verdict === 'incomplete') out(`incomplete: ${covered} (stopped by ${r.limit}); no violation found`);
  else {
    out(`violation after ${covered}`);
    out(describeViolation(o.trace!));
    const s = r.shrinking!;
    const from = o.liftedFrom ? Object.entries(o.liftedFrom).map(([k, v]) => `--${k} ${v}`).join(' ') : '';
    out(`the failing schedule had ${s.found} steps; fast-check shrank it to ${s.shrunk}; with only the actors it needs and steps dropped, ${s.dropped}` +
      `${s.lifted !== null ? `; the shortest violation at ${from}, replayed here, ${s.lifted}` : ''}` +
      `${s.around !== null ? `; the bounded search around it found ${s.around}` : ''}; ${s.actors} actors step in the trace`);
    out('');
    out(swimlanes(o.trace!, o.compiled.actors.map((a) => a.name)));
    out('');
    out(`seed ${seed} reproduces it: ${again}`);
    out(`trace written to ${tracePath}; replay it with: pagerace replay ${tracePath}`);
  }
  return code;
}
