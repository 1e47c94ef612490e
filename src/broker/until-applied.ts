/**
 * Waiting for this broker's copy of the metadata to show a change it wrote through the metadata leader: a
 * write is answered once it is committed, and the broker that took the request applies it a moment later, so
 * a client that asks this broker next sees what it just wrote. Bounded: by `waitMs`, and by the request's
 * deadline; either way the wait ends quietly (the write itself succeeded).
 */
import type { MetadataStateMachine } from '../metadata/index.js';
import type { Deadline, Timers } from '../resilience/index.js';

export function untilApplied(
  stateMachine: Pick<MetadataStateMachine, 'subscribe'>,
  holds: () => boolean,
  waitMs: number,
  timers: Timers,
  deadline: Deadline | undefined,
): Promise<void> {
  if (holds() || deadline?.signal.aborted === true) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const done = (): void => {
      off();
      timers.clearTimeout(timer);
      deadline?.signal.removeEventListener('abort', done);
      resolve();
    };
    const off = stateMachine.subscribe(() => {
      if (holds()) done();
    });
    const timer = timers.setTimeout(done, waitMs);
    deadline?.signal.addEventListener('abort', done, { once: true });
  });
}
