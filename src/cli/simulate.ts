/**
 * `pagerace simulate <system> [scope flags] [--variant NAME] [--runs N] [--seed S]
 * [--max-seconds S] [--max-steps N] [--out DIR] [--json]`: random schedules at
 * scopes no exhaustive search holds. A failure prints the seed that reproduces it
 * and writes its shrunk trace where `check` writes traces; a pass says how many
 * schedules it covered and is never an exhaustive pass.
 */
import { EXIT, SYSTEMS, exitCodeOf, resolveSystem, writeTrace } from '../index.ts';
import { simulateSystem } from '../simulate.ts';
import { describeViolation, swimlanes } from '../trace/render.ts';
import { traceLength } from '../trace/trace.ts';
import { UsageError, intFlag, numFlag, parseArgs } from './args.ts';

const out = (s: string) => process.stdout.write(s + '\n');

export function runSimulate(argv: string[]): number {
  const scopeFlags = Object.fromEntries(SYSTEMS.flatMap((s) => Object.keys(s.scope)).map((k) => [k, true]));
  const p = parseArgs(argv, { ...scopeFlags, variant: true, runs: true, seed: true, 'max-seconds': true, 'max-steps': true, out: true, json: false });
  if (p.positional.length !== 1) throw new UsageError('simulate needs exactly one system name');
  const system = resolveSystem(p.positional[0]);
  const given: Record<string, number | undefined> = {};
  for (const k of Object.keys(scopeFlags)) {
    if (p.flags.has(k) && !(k in system.scope)) throw new UsageError(`--${k} is not a scope parameter of ${system.name}`);
  }
  for (const [k, v] of Object.entries(system.scope)) given[k] = intFlag(p, k, v.min, v.simulateMax ?? 4 * v.max);
  const variant = (p.flags.get('variant') as string | undefined) ?? null;
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
  const tracePath = o.trace ? writeTrace((p.flags.get('out') as string | undefined) ?? `out/${system.name}`, name, o.compiled, o.trace) : null;
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
          steps: traceLength(o.trace.steps), preemptions: o.trace.preemptions, trace: tracePath, shrinking: r.shrinking, reproduce: again,
        },
      } : {}),
    }));
    return code;
  }
  out(`${system.name} (kernel ${system.kernel}) ${scopeText}${variant ? ` --variant ${variant}` : ''}, random schedules, seed ${seed}`);
  const covered = `${r.runs} schedule${r.runs === 1 ? '' : 's'}, ${r.steps} steps, ${r.seconds.toFixed(2)} s`;
  if (r.verdict === 'pass') out(`pass over ${covered} (not exhaustive: random schedules only)`);
  else if (r.verdict === 'incomplete') out(`incomplete: ${covered} (stopped by ${r.limit}); no violation found`);
  else {
    out(`violation after ${covered}`);
    out(describeViolation(o.trace!));
    const s = r.shrinking!;
    out(`the failing schedule had ${s.found} steps; fast-check shrank it to ${s.shrunk}; with only the ${s.actors} actors it needs and steps dropped, ${s.dropped}` +
      `${s.around !== null ? `; the bounded search around it found ${s.around}` : ''}`);
    out('');
    out(swimlanes(o.trace!, o.compiled.actors.map((a) => a.name)));
    out('');
    out(`seed ${seed} reproduces it: ${again}`);
    out(`trace written to ${tracePath}; replay it with: pagerace replay ${tracePath}`);
  }
  return code;
}
