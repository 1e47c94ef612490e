/**
 * One request asked of several brokers in turn until one answers (Cluster.requestAny). A broker that fails
 * in a way another may not (unreachable, closed, or a read that timed out) passes the request on at once.
 * With `hedgeAfterMs`, one that is merely slow passes it on too: after that long without an answer the next
 * broker is asked as well, and the first answer wins. A stopped broker (SIGSTOP, a hung host) accepts
 * connections and answers nothing; without hedging every metadata lookup that tried it first waited a whole
 * request timeout (30 s) before another broker was asked. The slow one is not cut off: a request that
 * legitimately takes long is still answered by whichever broker answers first.
 */
import { type StreamBusError, toStreamBusError } from '../errors/index.js';
import type { TimerHandle, Timers } from './timers.js';

export interface FirstAnswerOptions {
  /** Ask the next candidate as well after this long without an answer; Infinity asks one at a time. */
  hedgeAfterMs: number;
  timers: Timers;
  /** Whether a failure on one candidate lets the next be asked (else it is the answer). */
  movesOn: (err: StreamBusError) => boolean;
}

/** How many candidates were asked, and the last one's failure (null when there was none to ask). */
export interface NoAnswer {
  asked: number;
  last: StreamBusError | null;
}

/**
 * `ask(candidate)` for each candidate in order, as described above. Rejects with the first failure that
 * does not move on, or, when every candidate failed, with `noAnswer({ asked, last })`.
 */
export function firstAnswer<C, T>(
  candidates: readonly C[],
  ask: (candidate: C) => Promise<T>,
  options: FirstAnswerOptions,
  noAnswer: (outcome: NoAnswer) => unknown,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let next = 0;
    let pending = 0;
    let done = false;
    let last: StreamBusError | null = null;
    let hedge: TimerHandle | null = null;

    const finish = (settle: () => void): void => {
      if (done) return;
      done = true;
      if (hedge !== null) options.timers.clearTimeout(hedge);
      settle();
    };
    const askNext = (): void => {
      if (hedge !== null) options.timers.clearTimeout(hedge);
      hedge = null;
      if (next >= candidates.length) {
        if (pending === 0) finish(() => reject(noAnswer({ asked: next, last })));
        return;
      }
      const candidate = candidates[next++]!;
      pending++;
      if (next < candidates.length && Number.isFinite(options.hedgeAfterMs)) {
        hedge = options.timers.setTimeout(() => {
          hedge = null;
          if (!done) askNext();
        }, options.hedgeAfterMs);
      }
      ask(candidate).then(
        (answer) => finish(() => resolve(answer)),
        (err: unknown) => {
          pending--;
          if (done) return;
          const e = toStreamBusError(err, 'cluster.request');
          if (!options.movesOn(e)) {
            finish(() => reject(e));
            return;
          }
          last = e;
          // Those still asked may answer yet; when none is, the next one is asked now.
          if (pending === 0 || next < candidates.length) askNext();
        },
      );
    };
    askNext();
  });
}
