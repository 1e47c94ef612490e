/** Time for the harness, injected so the checker and plan stay pure and tests can drive time. */
export interface Clock {
  nowMs(): number;
}

/** Milliseconds since the clock was created (history times are relative to the run start). */
export function runClock(origin = performance.now()): Clock {
  return { nowMs: () => Math.round((performance.now() - origin) * 10) / 10 };
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
