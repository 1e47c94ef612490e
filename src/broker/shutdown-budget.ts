/**
 * One deadline shared by every step of a broker shutdown (shutdown.timeout_ms). A step waits for its work
 * until the deadline; the first step still waiting then is the one that "ran out", and the shutdown turns
 * forced: what is left only closes things (connections destroyed, Raft stopped, logs closed) and each of
 * those waits at most a short grace, shared, so a stuck disk or peer cannot hold the process either.
 *
 * The work itself is not cancelled here (a promise cannot be): the caller cuts what can be cut (sockets)
 * and skips what only waits (leadership handovers) once `forced` is set.
 */

export interface ShutdownClock {
  nowMs(): number;
}

export type StepResult = 'done' | 'timeout' | 'failed';

export class ShutdownBudget {
  private forcedStepName: string | null = null;
  private graceEndsAtMs = 0;

  constructor(
    /** Absolute, in the clock's milliseconds. */
    readonly deadlineMs: number,
    private readonly clock: ShutdownClock,
    /** How long the close steps after the deadline may take, together. */
    private readonly graceMs: number,
  ) {}

  /** The step that ran out of time; null while the drain is on schedule. */
  get forcedStep(): string | null {
    return this.forcedStepName;
  }

  get forced(): boolean {
    return this.forcedStepName !== null;
  }

  /** Time left before the deadline; 0 once forced (nothing that only waits should start then). */
  remainingMs(): number {
    if (this.forced) return 0;
    return Math.max(0, this.deadlineMs - this.clock.nowMs());
  }

  /**
   * Waits for `work` until the deadline (once forced: until the grace ends). 'timeout' marks the shutdown
   * forced, naming `step`, unless an earlier step already did; 'failed' when `work` rejected (`onError`).
   */
  async run(step: string, work: Promise<unknown>, onError: (err: unknown) => void): Promise<StepResult> {
    const waitMs = this.forced
      ? Math.max(0, this.graceEndsAtMs - this.clock.nowMs())
      : Math.max(0, this.deadlineMs - this.clock.nowMs());
    let timer: NodeJS.Timeout | undefined;
    const outOfTime = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), waitMs);
    });
    const finished = work.then(
      () => 'done' as const,
      (err: unknown) => {
        onError(err);
        return 'failed' as const;
      },
    );
    const result = await Promise.race([finished, outOfTime]);
    clearTimeout(timer);
    if (result === 'timeout' && !this.forced) {
      this.forcedStepName = step;
      this.graceEndsAtMs = this.clock.nowMs() + this.graceMs;
    }
    return result;
  }
}
