// A worker thread's entry point: register tsx's loader in this thread (hooks the main
// thread registered do not reach a worker here), then load the TypeScript worker.
import { register } from 'tsx/esm/api';
import { workerData } from 'node:worker_threads';

register();
await import(workerData.entry);
