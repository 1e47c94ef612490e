/**
 * Helpers for tests that run several real broker processes in cluster mode on loopback: free peer ports,
 * the ops HTTP views, polling until a condition holds.
 */
import { createServer } from 'node:net';
import { afterAll } from 'vitest';
import type { StreamBusClient } from '../../src/index.js';
import { type BrokerProcess, removeDir, startBroker, tempDir } from './broker-process.js';

export const HOST = '127.0.0.1';

export interface RaftView {
  status: string;
  role?: string;
  term?: number;
  leader_id?: number | null;
  node_id?: number;
  voters?: number[];
  brokers?: { id: number; state: string; client: string; epoch: number; last_heartbeat_ms: number }[];
}

/**
 * `count` distinct ports free right now: each bound to 0 and read while the others are still held, then all
 * closed (the voter list must name peer ports up front). Taken one at a time, two calls could be handed the
 * same port once the first was closed again.
 */
export async function freePorts(count: number): Promise<number[]> {
  const servers = Array.from({ length: count }, () => createServer());
  try {
    for (const server of servers) {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, HOST, () => resolve());
      });
    }
    return servers.map((server) => {
      const address = server.address();
      return typeof address === 'object' && address !== null ? address.port : 0;
    });
  } finally {
    await Promise.all(
      servers.map(
        (server) =>
          new Promise<void>((resolve) => (server.listening ? server.close(() => resolve()) : resolve())),
      ),
    );
  }
}

/** One port free right now (see freePorts). */
export async function freePort(): Promise<number> {
  const [port] = await freePorts(1);
  return port!;
}

export async function getJson(port: number, path: string): Promise<{ code: number; body: unknown }> {
  try {
    const res = await fetch(`http://${HOST}:${port}${path}`, { signal: AbortSignal.timeout(2_000) });
    return { code: res.status, body: await res.json() };
  } catch (err) {
    return { code: 0, body: String(err) };
  }
}

export async function raftView(b: BrokerProcess): Promise<RaftView> {
  const { body } = await getJson(b.httpPort, '/health/raft');
  return typeof body === 'object' && body !== null ? (body as RaftView) : { status: 'unreachable' };
}

/**
 * True once every given broker's metadata (its /health/raft view) has at least `n` brokers alive. Brokers are
 * ready before the coordinator has marked them all alive (under load, seconds before), and placing a topic
 * with a replication factor of `n` needs that.
 */
export async function allSeeAlive(brokers: readonly BrokerProcess[], n: number): Promise<true | undefined> {
  const views = await Promise.all(brokers.map(raftView));
  return views.every((v) => (v.brokers ?? []).filter((b) => b.state === 'alive').length >= n)
    ? true
    : undefined;
}

export async function ready(b: BrokerProcess): Promise<boolean> {
  return (await getJson(b.httpPort, '/health/ready')).code === 200;
}

/** Polls until `probe` returns a value (not undefined) or `timeoutMs` passes. */
export async function until<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 15_000,
  pollMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

/** The leader every given broker reports, once they all report the same one and are all ready. */
export async function agreedLeader(
  brokers: readonly BrokerProcess[],
  notId?: number,
): Promise<number | undefined> {
  const views = await Promise.all(brokers.map(raftView));
  const leaders = new Set(views.map((v) => v.leader_id ?? null));
  const [leader] = [...leaders];
  if (leaders.size !== 1 || leader === null || leader === undefined || leader === notId) return undefined;
  const allReady = (await Promise.all(brokers.map(ready))).every(Boolean);
  return allReady ? leader : undefined;
}

/**
 * The metadata leader once every given broker agrees on it, is ready, and sees all of them alive: what a
 * test needs before it creates a topic whose replication factor is the number of brokers (a broker is
 * ready before the leader has marked every registration alive, and placement counts only alive brokers).
 */
export async function formedCluster(brokers: readonly BrokerProcess[]): Promise<number | undefined> {
  const leader = await agreedLeader(brokers);
  if (leader === undefined) return undefined;
  return (await allSeeAlive(brokers, brokers.length)) ? leader : undefined;
}

/** A cluster-mode broker: `id`, its data dir and peer port, the voter list, extra env. */
export function startClusterBroker(options: {
  id: number;
  dataDir: string;
  peerPort: number;
  voters: string;
  env?: NodeJS.ProcessEnv;
}): Promise<BrokerProcess> {
  return startBroker({
    dataDir: options.dataDir,
    env: {
      STREAMBUS_BROKER_ID: String(options.id),
      STREAMBUS_CLUSTER_ENABLED: 'true',
      STREAMBUS_CLUSTER_PEER_LISTEN: `${HOST}:${options.peerPort}`,
      STREAMBUS_CLUSTER_VOTERS: options.voters,
      ...options.env,
    },
  });
}

/** Three cluster brokers (ids 1-3, all metadata voters) on free peer ports, one data dir each. */
export async function startThreeBrokerCluster(
  dirs: readonly string[],
  env?: NodeJS.ProcessEnv,
): Promise<BrokerProcess[]> {
  const peerPorts = await freePorts(3);
  const voters = peerPorts.map((p, i) => `${i + 1}@${HOST}:${p}`).join(',');
  return Promise.all(
    [1, 2, 3].map((id) =>
      startClusterBroker({
        id,
        dataDir: dirs[id - 1] as string,
        peerPort: peerPorts[id - 1] as number,
        voters,
        ...(env === undefined ? {} : { env }),
      }),
    ),
  );
}

/**
 * Three data dirs, and the broker processes and clients a test file starts on them (it pushes them here):
 * all closed, killed and removed after the file's tests. Each process by its own handle (its PID), never by
 * pattern.
 */
export function threeBrokerFixture(name: string): {
  dirs: string[];
  running: BrokerProcess[];
  clients: StreamBusClient[];
} {
  const dirs = [1, 2, 3].map((i) => tempDir(`streambus-${name}-${i}-`));
  const running: BrokerProcess[] = [];
  const clients: StreamBusClient[] = [];
  afterAll(async () => {
    for (const c of clients) await c.close();
    await Promise.all(running.map((b) => b.kill()));
    for (const d of dirs) removeDir(d);
  });
  return { dirs, running, clients };
}
