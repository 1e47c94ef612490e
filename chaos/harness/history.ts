/**
 * The history: every event of a chaos run, one JSON object per line, times in ms since the run started.
 * The checker reads only this, so a run can be re-checked (or a synthetic history fed in) without brokers.
 */
import { createWriteStream, readFileSync, type WriteStream, writeFileSync } from 'node:fs';

export type BreakerStateName = 'closed' | 'open' | 'half-open';

export type HistoryEvent =
  | {
      t: number;
      type: 'run';
      action: 'start' | 'end';
      scenario: string;
      seed: number;
      /** Broker processes (absent in older histories: 1). */
      brokers?: number;
      /** The producers were idempotent: a duplicate is then an anomaly, not an expected retry effect. */
      idempotent?: boolean;
    }
  | { t: number; type: 'send'; producer: string; seq: number; partition: number }
  | { t: number; type: 'ack'; producer: string; seq: number; partition: number; offset: number }
  | { t: number; type: 'fail'; producer: string; seq: number; partition: number; code: string }
  | {
      t: number;
      type: 'read';
      phase: 'live' | 'drain';
      consumer: string;
      partition: number;
      offset: number;
      value: string;
    }
  /** A consumer group's committed offset as read back from its coordinator (sampled during the run). */
  | { t: number; type: 'commit'; group: string; partition: number; offset: number }
  | { t: number; type: 'nemesis'; name: string; action: 'start' | 'stop'; target: string; detail?: string }
  | {
      t: number;
      type: 'broker';
      node: number;
      /** 'exited': the process ended without the harness asking (a crash, or a signal from outside). */
      action: 'started' | 'killed' | 'paused' | 'resumed' | 'stopped' | 'exited';
      detail?: string;
    }
  /** A circuit breaker of broker `node` seen in a new state on its /metrics (breaker-sampler.ts). */
  | { t: number; type: 'breaker'; node: number; name: string; from: BreakerStateName; to: BreakerStateName }
  /** Every breaker sampled after the final heal; `open` lists those still not closed (`node/name`). */
  | { t: number; type: 'breakers-settled'; open: string[] }
  | { t: number; type: 'phase'; name: 'workload-stop' | 'drain-start' | 'drain-end' }
  /** The harness's own event loop was blocked for `ms` from `t` (stall-monitor.ts). */
  | { t: number; type: 'harness-stall'; ms: number }
  /** A live consumer's poll failed (it polls again); `code` is the error's code (checker: BROKER_FAULT_CODES). */
  | { t: number; type: 'poll-error'; consumer: string; code: string }
  | { t: number; type: 'note'; message: string };

export interface HistorySink {
  append(event: HistoryEvent): void;
}

/** In memory, for tests and for checking right after a run. */
export class MemoryHistory implements HistorySink {
  readonly events: HistoryEvent[] = [];
  append(event: HistoryEvent): void {
    this.events.push(event);
  }
}

/**
 * Buffers lines and hands them to the file every `flushEvery` events (and on flush()). The writes leave the
 * event loop: the harness's proxies and workload share it, and a synchronous append stuck behind a busy disk
 * stalled every proxied link at once (read as every broker failing). A stream keeps the lines in order and
 * never interleaves half lines; a crash of the harness loses what the disk had not taken yet.
 */
export class FileHistory implements HistorySink {
  private buffer: string[] = [];
  readonly events: HistoryEvent[] = [];
  private readonly out: WriteStream;
  private closing: Promise<void> | undefined;

  constructor(
    readonly path: string,
    private readonly flushEvery = 1000,
  ) {
    writeFileSync(path, '');
    this.out = createWriteStream(path, { flags: 'a' });
  }

  append(event: HistoryEvent): void {
    this.events.push(event);
    this.buffer.push(JSON.stringify(event));
    if (this.buffer.length >= this.flushEvery) this.flush();
  }

  flush(): void {
    if (this.buffer.length === 0 || this.closing !== undefined) return;
    this.out.write(`${this.buffer.join('\n')}\n`);
    this.buffer = [];
  }

  /** Flushes and resolves once every line is in the file; later appends stay in memory only. Idempotent. */
  close(): Promise<void> {
    this.flush();
    this.closing ??= new Promise<void>((resolve, reject) => {
      this.out.once('error', reject);
      this.out.end(() => resolve());
    });
    return this.closing;
  }
}

export function readHistory(path: string): HistoryEvent[] {
  const out: HistoryEvent[] = [];
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (line.trim() === '') continue;
    out.push(JSON.parse(line) as HistoryEvent);
  }
  return out;
}

/** `${producerId}:${seq}`: what a producer writes as the message value. */
export function seqValue(producer: string, seq: number): string {
  return `${producer}:${seq}`;
}

export function parseValue(value: string): { producer: string; seq: number } | null {
  const i = value.lastIndexOf(':');
  if (i <= 0) return null;
  const seq = Number(value.slice(i + 1));
  if (!Number.isInteger(seq)) return null;
  return { producer: value.slice(0, i), seq };
}
