/**
 * pagerace's commands, as a table: each has its options (util.parseArgs, see
 * args.ts), its help and its run function. A new command is one more entry here
 * (`simulate` and `view` plug in the same way).
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { CONTRACT_DOC, firstDifference, generateContracts } from '../contracts.ts';
import { EXIT, SYSTEMS, driverOfTrace, exitCodeOf, exitCodeOfVerdict, InputError, replay } from '../index.ts';
import { DEADLOCK } from '../system.ts';
import { CRASH } from '../explore/check.ts';
import { LIVELOCK } from '../explore/liveness.ts';
import { describeViolation, swimlanes } from '../trace/render.ts';
import { traceLength } from '../trace/trace.ts';
import { BENCH_SCOPES, SEARCH_BENCH, benchTable, runBench, runSearchBench } from '../bench.ts';
import { mergeShards, writeMergedTrace } from '../shard.ts';
import { writeView } from '../trace/view.ts';
import { UsageError, strFlag, type OptionTable, type Parsed } from './args.ts';
import { CHECK_OPTIONS, runCheck } from './check.ts';
import { simulateCmd } from './simulate.ts';
import { err, out } from './io.ts';

export interface Command {
  readonly name: string;
  /** One line for the command list. */
  readonly summary: string;
  /** The usage line(s), after `pagerace `. */
  readonly usage: string;
  readonly options: OptionTable;
  /** More help after the options (e.g. each system's scope flags). */
  readonly more?: () => string[];
  run(p: Parsed): number | Promise<number>;
}

const JSON_OPT: OptionTable = { json: { type: 'boolean', help: 'one JSON object on stdout' } };

/** The walker's own properties, checked for every system (livelock only with liveness on). */
const BUILT_IN = [{ ...DEADLOCK, kind: 'deadlock' }, { ...CRASH, kind: 'kernel-bug' }, { ...LIVELOCK, kind: 'termination' }];

const list: Command = {
  name: 'list',
  summary: 'systems, kernel versions, scope flags, actors, properties (rule and source) and variants',
  usage: 'list [--json]',
  options: JSON_OPT,
  run(p) {
    if (p.positional.length) throw new UsageError('list takes no arguments');
    const systems = SYSTEMS.map((s) => {
      const model = s.build(Object.fromEntries(Object.entries(s.scope).map(([k, v]) => [k, v.default])), null);
      return {
        name: s.name, title: s.title, kernel: s.kernel, kernels: s.kernels ?? [s.kernel], description: s.description, scope: s.scope,
        ...(s.driverSlot ? { driverSlot: s.driverSlot } : {}),
        actors: [...new Set(model.actors.map((a) => a.kind))],
        variants: s.variants,
        properties: [...model.properties.map(({ name, kind, rule, source }) => ({ name, kind, rule, source })), ...BUILT_IN],
      };
    });
    if (p.flags.has('json')) {
      out(JSON.stringify(systems, null, 2));
      return 0;
    }
    for (const s of systems) {
      out(`${s.name} (kernel ${s.kernels.join(', ')}): ${s.title}`);
      out(`  scope: ${Object.entries(s.scope).map(([k, v]) => `--${k} ${v.min}..${v.max} (default ${v.default}, ${v.description})`).join(', ')}`);
      out(`  actors: ${s.actors.join(', ')}`);
      if (s.driverSlot) out(`  --driver FILE replaces the '${s.driverSlot.actor}' actor (README, "Checking your own driver")`);
      out(`  properties:`);
      for (const pr of s.properties) {
        out(`    ${pr.name} (${pr.kind}): ${pr.rule}`);
        out(`      source: ${pr.source}`);
      }
      out(`  variants:`);
      for (const v of s.variants) out(`    ${v.name.padEnd(30)} expect ${v.expect.kind} ${v.expect.property}`);
    }
    return 0;
  },
};

const checkCmd: Command = {
  name: 'check',
  summary: 'explore every interleaving of a system at a scope (or --all)',
  usage: 'check <system> [scope flags] [--kernel VERSION] [--variant NAME] [--driver FILE] [limits] [--workers N | --shard I/N]\n' +
    '               [--preemptions K] [--liveness | --no-liveness] [--no-symmetry] [--no-por] [--coverage]\n' +
    '               [--out DIR] [--format text|json|junit|sarif] [--json]\n' +
    '  pagerace check --all [--only NAMES] [--format text|json|junit|sarif]',
  options: CHECK_OPTIONS,
  more: () => ['', 'scope flags per system:', ...SYSTEMS.flatMap((s) => [`  ${s.name} (kernel ${(s.kernels ?? [s.kernel]).join(', ')}):`,
    ...Object.entries(s.scope).map(([k, v]) => `    --${k} ${v.min}..${v.max} (default ${v.default}): ${v.description}`)]),
    '', 'exit: 0 pass, 10 kernel assertion (or a step that throws), 11 deadlock, 12 invariant, 13 termination (or a livelock),',
    '      3 incomplete (a limit, or a step that did not return by --max-seconds), 2 bad usage, 130 interrupted;',
    '      --all: 0 when every row is as expected, 1 otherwise'],
  run: runCheck,
};

const replayCmd: Command = {
  name: 'replay',
  summary: 're-execute a trace file against the kernel core, every state compared',
  usage: 'replay <trace.json> [--json]',
  options: JSON_OPT,
  more: () => ['', 'exit: the code of the violation reproduced (10 to 13); 4 when the trace no longer applies (a step is not',
    'possible, or its steps no longer end in a violation); 2 for a malformed file or a state that differs from re-execution'],
  async run(p) {
    if (p.positional.length !== 1) throw new UsageError('replay needs exactly one trace file');
    const file = p.positional[0];
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      throw new InputError(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    const r = replay(text, await driverOfTrace(text, file));
    const code = exitCodeOf(r.trace.violation.kind);
    if (p.flags.has('json')) {
      out(JSON.stringify({
        reproduced: { ...r.trace.violation, steps: traceLength(r.trace.steps), preemptions: r.trace.preemptions },
        expected: r.expected,
        matches: r.matches,
      }));
      return code;
    }
    out(`${r.matches ? 'reproduced' : 'reproduced a different violation'}: ${describeViolation(r.trace)}`);
    out('');
    out(swimlanes(r.trace, r.compiled.actors.map((a) => a.name)));
    return code;
  },
};

const view: Command = {
  name: 'view',
  summary: 'one self-contained HTML page for a trace (any ITF trace): swimlanes, a step slider, the world, statecharts',
  usage: 'view <trace.json> [--out FILE.html]',
  options: { out: { type: 'string', value: 'FILE.html', help: 'where the page goes (default: the trace\'s path with .html)' } },
  run(p) {
    if (p.positional.length !== 1) throw new UsageError('view needs exactly one trace file');
    out(`wrote ${writeView(p.positional[0], strFlag(p, 'out'), { systems: SYSTEMS })}`);
    return EXIT.pass;
  },
};

const mergeCmd: Command = {
  name: 'merge',
  summary: 'combine shard results (check --shard) into one verdict',
  usage: 'merge <shard result files...> [--out DIR] [--json]',
  options: { out: { type: 'string', value: 'DIR', help: 'where the best violation\'s trace goes (default out/<system>)' }, ...JSON_OPT },
  run(p) {
    const m = mergeShards(p.positional);
    const tracePath = writeMergedTrace(strFlag(p, 'out') ?? `out/${m.system}`, m);
    const code = exitCodeOfVerdict(m.verdict, m.violation?.kind);
    const summary = {
      system: m.system, config: m.config, variant: m.variant, shards: m.shards, verdict: m.verdict,
      states: m.states, transitions: m.transitions, depth: m.depth,
      ...(m.violation ? { violation: { property: m.violation.property, kind: m.violation.kind, message: m.violation.message, steps: m.violation.length, preemptions: m.violation.preemptions, trace: tracePath } } : {}),
    };
    if (p.flags.has('json')) out(JSON.stringify(summary));
    else {
      out(`${m.system} ${Object.entries(m.config).map(([k, v]) => `--${k} ${v}`).join(' ')}${m.variant ? ` --variant ${m.variant}` : ''}, ${m.shards} shards`);
      out(`${m.verdict}: ${m.states} distinct states, ${m.transitions} transitions, depth ${m.depth}`);
      if (m.violation) out(`${m.violation.kind} ${m.violation.property}: ${m.violation.message} (${m.violation.length} steps); trace in ${tracePath}`);
    }
    return code;
  },
};

const contracts: Command = {
  name: 'contracts',
  summary: 'generate docs/driver-contract.md from the code (or --check it)',
  usage: 'contracts [--out FILE] [--check]',
  options: {
    out: { type: 'string', value: 'FILE', help: `the document (default ${CONTRACT_DOC})` },
    check: { type: 'boolean', help: 'exit 1 with one line when the file differs from what the code generates' },
  },
  run(p) {
    if (p.positional.length) throw new UsageError('contracts takes no arguments');
    const file = strFlag(p, 'out') ?? CONTRACT_DOC;
    const text = generateContracts();
    const again = `pagerace contracts${file === CONTRACT_DOC ? '' : ` --out ${file}`}`;
    if (p.flags.has('check')) {
      let have: string;
      try {
        have = readFileSync(file, 'utf8');
      } catch {
        err(`pagerace: ${file} does not exist; generate it with: ${again}`);
        return 1;
      }
      const line = firstDifference(have, text);
      if (line) {
        err(`pagerace: ${file} is out of date (first difference at line ${line}); regenerate it with: ${again}`);
        return 1;
      }
      out(`${file} is up to date`);
      return 0;
    }
    mkdirSync(dirname(file), { recursive: true });
    const tmp = `${file}.tmp-${process.pid}`;
    writeFileSync(tmp, text);
    renameSync(tmp, file);
    out(`wrote ${file} (${text.split('\n').length - 1} lines)`);
    return 0;
  },
};

const bench: Command = {
  name: 'bench',
  summary: 'the speed comparison of the README, in one run',
  usage: 'bench [--json]',
  options: JSON_OPT,
  async run(p) {
    if (p.positional.length) throw new UsageError('bench takes no arguments');
    const log = p.flags.has('json') ? undefined : (s: string) => err(`bench: ${s}`);
    const rows = [...await runBench(BENCH_SCOPES, log), ...runSearchBench(SEARCH_BENCH, log)];
    out(p.flags.has('json') ? JSON.stringify(rows) : benchTable(rows));
    return EXIT.pass;
  },
};

/** Every command, in the order `pagerace --help` lists them. */
export const COMMANDS: readonly Command[] = [
  list,
  checkCmd,
  simulateCmd,
  replayCmd,
  view,
  mergeCmd,
  contracts,
  bench,
];
