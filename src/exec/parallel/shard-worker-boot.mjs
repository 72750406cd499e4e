// The entry of a shard worker thread. A worker inherits neither tsx's nor vitest's module hooks,
// so it registers tsx itself before it loads the TypeScript module named in workerData.entry.
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.entry);
