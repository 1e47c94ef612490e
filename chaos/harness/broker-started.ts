/**
 * Waits for a spawned broker process to log "broker started", the line that names the ports it got (a broker
 * listening on `:0` learns them from the OS). Every harness that runs the built CLI (the chaos nodes, the
 * process tests, the deploy-file tests) reads its ports from that line, so it is read in one place.
 */
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

export interface BrokerStartedLine {
  readonly port: number;
  readonly httpPort: number;
  readonly brokerId: number | undefined;
}

export interface BrokerStartedOptions {
  readonly timeoutMs: number;
  /** Every line the process writes, stdout and stderr, in order per stream (to keep its log). */
  readonly onLine: (line: string) => void;
  /** Turns why it did not start into the error message (typically with the log lines kept so far). */
  readonly failure: (why: string) => string;
}

/** Resolves with the ports once the line appears; rejects when the process exits first or time runs out. */
export function brokerStarted(child: ChildProcess, o: BrokerStartedOptions): Promise<BrokerStartedLine> {
  return new Promise<BrokerStartedLine>((res, rej) => {
    const timer = setTimeout(
      () => rej(new Error(o.failure(`did not start in ${o.timeoutMs} ms`))),
      o.timeoutMs,
    );
    const onExit = (code: number | null, signal: NodeJS.Signals | null): void => {
      clearTimeout(timer);
      rej(new Error(o.failure(`exited (${code ?? signal}) before starting`)));
    };
    // 'close', not 'exit': by then every line it wrote has been read, so the failure shows the last ones.
    child.once('close', onExit);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      o.onLine(line);
      if (!line.includes('"broker started"')) return;
      let entry: { port: number; http_port: number; broker_id?: number };
      try {
        entry = JSON.parse(line) as typeof entry;
      } catch {
        return; // not a JSON log line (someone printing the phrase): keep waiting
      }
      clearTimeout(timer);
      child.removeListener('close', onExit);
      res({ port: entry.port, httpPort: entry.http_port, brokerId: entry.broker_id });
    });
    createInterface({ input: child.stderr! }).on('line', o.onLine);
  });
}
