// Busy threads that stand in for a benchmark's own CPU use in the disk probes: each is busy for 1 ms, then
// asleep for 1 ms, until the time given. Imported by the probes (startLoadThreads); run as a worker itself.
import { isMainThread, Worker, workerData } from 'node:worker_threads';

if (!isMainThread) {
  const pause = new Int32Array(new SharedArrayBuffer(4));
  while (Date.now() < workerData.untilMs) {
    const busyUntil = Date.now() + 1;
    while (Date.now() < busyUntil) {}
    Atomics.wait(pause, 0, 0, 1);
  }
}

/** Starts `count` load threads that run until `untilMs`; returns a function that stops them. */
export function startLoadThreads(count, untilMs) {
  const workers = Array.from(
    { length: count },
    () => new Worker(new URL(import.meta.url), { workerData: { untilMs } }),
  );
  return async () => {
    for (const w of workers) await w.terminate();
  };
}
