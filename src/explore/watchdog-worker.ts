/**
 * The worker of a watched search (watchdog.ts): build the compiled system, publish
 * every step in the shared probe, run the search, and post its progress and result.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { Compiled } from './compile.ts';
import { setStepProbe } from './check.ts';
import { search } from './search.ts';
import type { FromWatched, WatchedSetup } from './watchdog.ts';

const setup = workerData as WatchedSetup;
const send = (m: FromWatched) => parentPort!.postMessage(m);

async function main(): Promise<void> {
  const mod = (await import(setup.source.module)) as Record<string, (args: unknown) => Promise<Compiled> | Compiled>;
  const c = await mod[setup.source.export](setup.source.args);
  setStepProbe(setup.probe);
  const result = search(c, { ...setup.opts, progressMs: setup.progressMs, onProgress: (p) => send({ t: 'progress', p }) });
  send({ t: 'done', result });
}

main().catch((e: unknown) => send({ t: 'error', message: e instanceof Error ? e.stack ?? e.message : String(e) }));
