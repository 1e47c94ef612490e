// What the disk probes share: busy threads that stand in for a benchmark's own CPU use (each busy for 1 ms,
// then asleep for 1 ms, until the time given; this module runs as their worker too), and the latency line.
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

/** `p50 .. p90 .. p99 .. p999 .. max .. us` of latencies in microseconds (sorts them). */
export function latencySummary(latUs) {
  latUs.sort((a, b) => a - b);
  const q = (p) => latUs[Math.min(latUs.length - 1, Math.floor(latUs.length * p))].toFixed(0);
  return `p50 ${q(0.5)} p90 ${q(0.9)} p99 ${q(0.99)} p999 ${q(0.999)} max ${latUs.at(-1).toFixed(0)} us`;
}
