/**
 * Ctrl-C and SIGTERM for a command with work to finish on the way out (consume: its last commit and
 * leaving the group). The first signal asks the command to stop and gives what is left a bounded time,
 * as a broker that went away would otherwise hold the process for as long as the client retries (QA:
 * about 2 minutes). A second signal exits at once: whoever sends it has stopped waiting.
 */

/** The shell's exit code for a process ended by the signal (128 + its number). */
export const SIGNAL_EXIT_CODES = { SIGINT: 130, SIGTERM: 143 } as const;

export type ExitSignal = keyof typeof SIGNAL_EXIT_CODES;

/** What the signals arrive on: the process, or a stand-in in tests. */
export interface SignalSource {
  on(event: ExitSignal, listener: (signal: ExitSignal) => void): unknown;
  off(event: ExitSignal, listener: (signal: ExitSignal) => void): unknown;
}

export interface ExitSignalsOptions {
  /** How long the work may go on after the first signal. */
  graceMs: number;
  source?: SignalSource;
  /** Ends the process (process.exit); called on the second signal. */
  exit?: (code: number) => void;
  /** Where the signals are reported (stderr). */
  report?: (line: string) => void;
}

/** The work did not finish within the grace time after `signal`; it is left running. */
export interface GaveUp {
  readonly gaveUp: true;
  readonly signal: ExitSignal;
  readonly graceMs: number;
}

export class ExitSignals {
  private readonly controller = new AbortController();
  private received: ExitSignal | null = null;
  private readonly source: SignalSource;
  private readonly exit: (code: number) => void;
  private readonly report: (line: string) => void;

  constructor(private readonly options: ExitSignalsOptions) {
    this.source = options.source ?? (process as unknown as SignalSource);
    this.exit = options.exit ?? ((code) => process.exit(code));
    this.report = options.report ?? ((line) => process.stderr.write(`${line}\n`));
    this.source.on('SIGINT', this.onSignal);
    this.source.on('SIGTERM', this.onSignal);
  }

  /** Aborted by the first signal: the command stops taking new work. */
  get stopped(): AbortSignal {
    return this.controller.signal;
  }

  /** Stops listening: later signals get Node's default (the process ends). */
  remove(): void {
    this.source.off('SIGINT', this.onSignal);
    this.source.off('SIGTERM', this.onSignal);
  }

  /**
   * `work`'s result; or, once a signal has come (before or during it) and `graceMs` have passed since,
   * GaveUp without waiting for the work any longer. A rejection of `work` is passed on.
   */
  within<T>(work: Promise<T>): Promise<T | GaveUp> {
    return new Promise<T | GaveUp>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const startClock = (): void => {
        const signal = this.received ?? 'SIGTERM';
        const { graceMs } = this.options;
        timer = setTimeout(() => resolve({ gaveUp: true, signal, graceMs }), graceMs);
      };
      if (this.controller.signal.aborted) startClock();
      else this.controller.signal.addEventListener('abort', startClock, { once: true });
      const settle = (): void => {
        clearTimeout(timer);
        this.controller.signal.removeEventListener('abort', startClock);
      };
      work.then(
        (value) => {
          settle();
          resolve(value);
        },
        (err: unknown) => {
          settle();
          reject(err);
        },
      );
    });
  }

  private readonly onSignal = (signal: ExitSignal): void => {
    if (this.received !== null) {
      this.report(`${signal} again: exiting at once, without waiting for the broker`);
      this.exit(SIGNAL_EXIT_CODES[signal]);
      return;
    }
    this.received = signal;
    // Says that a wait may follow and how to cut it short (a silent wait reads as a hang).
    this.report(
      `${signal}: stopping (at most ${this.options.graceMs} ms more; a second signal exits at once)`,
    );
    this.controller.abort();
  };
}

export function isGaveUp(v: unknown): v is GaveUp {
  return typeof v === 'object' && v !== null && (v as { gaveUp?: unknown }).gaveUp === true;
}
