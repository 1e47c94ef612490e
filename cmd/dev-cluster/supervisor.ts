/**
 * Runs a planned dev cluster: one `streambus broker` child process per planned broker, each writing its
 * logs to DIR/broker-<id>.log; waits for the cluster to be ready; stops every child on SIGINT / SIGTERM
 * (SIGTERM first, SIGKILL after `stopTimeoutMs`). Children get their own process group, so a terminal's
 * Ctrl-C reaches only this supervisor and each broker is stopped once, gracefully.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { BROKER_NODE_FLAGS } from '../../src/broker/node-flags.js';
import { type BrokerPorts, bootstrapOf, type PlannedBroker } from './plan.js';
import { type BrokerProbe, evaluateReadiness } from './readiness.js';

const CLI_PATH = fileURLToPath(new URL('../streambus.js', import.meta.url));
const PROBE_INTERVAL_MS = 200;
const PROBE_TIMEOUT_MS = 1_000;

export interface SupervisorOptions {
  readonly brokers: readonly PlannedBroker[];
  readonly readyTimeoutMs: number;
  readonly stopTimeoutMs: number;
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
}

interface Running {
  readonly plan: PlannedBroker;
  readonly child: ChildProcess;
  readonly exited: Promise<void>;
  done: boolean;
}

/** Ports the OS says are free right now (bind :0, read, close): for `--base-port 0`. */
export async function freePorts(host: string, brokers: number): Promise<BrokerPorts[]> {
  const taken = new Set<number>();
  const one = async (): Promise<number> => {
    for (;;) {
      const server = createServer();
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, host, () => resolve());
      });
      const address = server.address();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      if (port > 0 && !taken.has(port)) {
        taken.add(port);
        return port;
      }
    }
  };
  const out: BrokerPorts[] = [];
  for (let i = 0; i < brokers; i++) out.push({ client: await one(), peer: await one(), http: await one() });
  return out;
}

async function probe(b: PlannedBroker): Promise<BrokerProbe> {
  const base = `http://${b.host}:${b.ports.http}`;
  const get = async (path: string): Promise<{ code: number; body: unknown }> => {
    try {
      const res = await fetch(`${base}${path}`, { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
      const text = await res.text();
      try {
        return { code: res.status, body: JSON.parse(text) as unknown };
      } catch {
        return { code: res.status, body: null };
      }
    } catch {
      return { code: 0, body: null };
    }
  };
  const [ready, raft] = await Promise.all([get('/health/ready'), get('/health/raft')]);
  return { id: b.id, readyCode: ready.code, raft: raft.body };
}

/** The last few lines of a broker's log, to show why it exited without sending the user to the file. */
function logTail(path: string, lines = 3): string[] {
  try {
    const text = readFileSync(path, 'utf8');
    return text.slice(-4_096).trimEnd().split('\n').slice(-lines);
  } catch {
    return [];
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Resolves with the exit code once every child is stopped (0 after a signal, 1 if startup failed). */
export async function runDevCluster(options: SupervisorOptions): Promise<number> {
  const { out, err } = options;
  const running: Running[] = [];
  let stopping: Promise<void> | null = null;
  let startupFailed = false;
  let finish: (code: number) => void = () => {};
  const finished = new Promise<number>((resolve) => {
    finish = resolve;
  });

  const stopAll = (reason: string): Promise<void> => {
    stopping ??= (async () => {
      out(`stopping ${running.filter((r) => !r.done).length} broker(s) (${reason})`);
      for (const r of running) if (!r.done) r.child.kill('SIGTERM');
      const all = Promise.all(running.map((r) => r.exited));
      const timedOut = await Promise.race([
        all.then(() => false),
        sleep(options.stopTimeoutMs).then(() => true),
      ]);
      if (timedOut) {
        for (const r of running) {
          if (r.done) continue;
          err(
            `broker ${r.plan.id} (pid ${r.child.pid}) did not stop in ${options.stopTimeoutMs} ms: SIGKILL`,
          );
          r.child.kill('SIGKILL');
        }
        await all;
      }
      out('all brokers stopped');
    })();
    return stopping;
  };

  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping !== null) {
      // A second Ctrl-C: do not wait for the drain.
      for (const r of running) if (!r.done) r.child.kill('SIGKILL');
      return;
    }
    void stopAll(signal).then(() => finish(startupFailed ? 1 : 0));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // Last resort if this process dies some other way: never leave brokers behind.
  const killLeftovers = (): void => {
    for (const r of running) if (!r.done) r.child.kill('SIGKILL');
  };
  process.on('exit', killLeftovers);

  for (const plan of options.brokers) {
    mkdirSync(plan.dataDir, { recursive: true });
    const log = openSync(plan.logFile, 'a');
    let child: ChildProcess;
    try {
      child = spawn(process.execPath, [...BROKER_NODE_FLAGS, CLI_PATH, ...plan.args], {
        stdio: ['ignore', log, log],
        detached: true,
        env: process.env,
      });
    } finally {
      closeSync(log);
    }
    const r: Running = {
      plan,
      child,
      done: false,
      exited: new Promise<void>((resolve) => {
        child.once('exit', (code, signal) => {
          r.done = true;
          if (stopping === null) {
            err(
              `broker ${plan.id} (pid ${child.pid}) exited unexpectedly (${signal ?? `code ${code}`}); see ${plan.logFile}`,
            );
            for (const line of logTail(plan.logFile)) err(`  broker ${plan.id}| ${line}`);
            if (running.every((x) => x.done)) {
              err('every broker has exited');
              startupFailed = true;
              void stopAll('all brokers exited').then(() => finish(1));
            }
          }
          resolve();
        });
      }),
    };
    child.once('error', (e) => err(`broker ${plan.id}: ${e.message}`));
    running.push(r);
    out(
      `broker ${plan.id}  pid ${child.pid}  client ${plan.host}:${plan.ports.client}  peer ${plan.host}:${plan.ports.peer}` +
        `  http ${plan.host}:${plan.ports.http}  ${plan.voter ? 'voter' : 'non-voter'}  log ${plan.logFile}`,
    );
  }

  void (async () => {
    const deadline = Date.now() + options.readyTimeoutMs;
    let waitingFor = '';
    while (stopping === null) {
      const readiness = evaluateReadiness(await Promise.all(options.brokers.map(probe)));
      if (stopping !== null) return;
      if (readiness.ready) {
        out(
          `ready: ${options.brokers.length} broker(s), metadata leader ${readiness.leaderId} (term ${readiness.term}), bootstrap ${bootstrapOf(options.brokers)}`,
        );
        return;
      }
      waitingFor = readiness.waitingFor;
      if (running.some((r) => r.done)) {
        // A broker that died while starting cannot become ready: stop the rest rather than wait forever.
        startupFailed = true;
        await stopAll('a broker exited before the cluster was ready');
        finish(1);
        return;
      }
      if (Date.now() > deadline) {
        err(`not ready after ${options.readyTimeoutMs} ms: waiting for ${waitingFor}; brokers keep running`);
        return;
      }
      await sleep(PROBE_INTERVAL_MS);
    }
  })();

  const code = await finished;
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  process.off('exit', killLeftovers);
  return code;
}
