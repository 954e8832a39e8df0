// A child process running tfjs-wasm's threaded build (a process of its own: the build is chosen once per process,
// and loading it in Node replaces globals). The benchmark asks it to build a case, then to time it between its own
// runs, so both see the same machine noise. Messages: {build: PeerCase} → {id | null}; {time: id, burst} → {ms}.
import { enableTfjsThreadsInNode } from './tfjs_node_threads.js';
import { initTfjs, tfCase, type PeerCase } from './tfjs.js';

enableTfjsThreadsInNode();
const threads = Number(process.argv[2]);
const actualThreads = await initTfjs(threads);
const cases: (() => void)[] = [];

process.on('message', (message: { build: PeerCase } | { time: number; burst: number }) => {
  if ('build' in message) {
    const run = tfCase(message.build);
    if (run) run();
    process.send!({ id: run ? cases.push(run) - 1 : null });
  } else {
    const run = cases[message.time];
    const t0 = performance.now();
    for (let b = 0; b < message.burst; b++) run();
    process.send!({ ms: performance.now() - t0 });
  }
});
process.on('disconnect', () => process.exit(0));
process.send!({ threads: actualThreads });
