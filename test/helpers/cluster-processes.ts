/**
 * Helpers for tests that run several real broker processes in cluster mode on loopback: free peer ports,
 * the ops HTTP views, polling until a condition holds.
 */
import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll } from 'vitest';
import type { StreamBusClient } from '../../src/index.js';
import { SUPPORTED_FEATURE_LEVEL } from '../../src/metadata/feature-levels.js';
import { type BrokerProcess, removeDir, startBroker, TEST_HOST, tempDir } from './broker-process.js';

export const HOST = TEST_HOST;

export interface RaftView {
  status: string;
  role?: string;
  term?: number;
  leader_id?: number | null;
  node_id?: number;
  voters?: number[];
  /** Absent from builds before cluster feature levels. */
  feature_level?: { cluster: number; supported: number };
  metadata_version?: number;
  brokers?: {
    id: number;
    state: string;
    client: string;
    epoch: number;
    last_heartbeat_ms: number;
    feature_level?: number;
  }[];
}

/**
 * Ports are picked below Linux's ephemeral range (32768-60999): a port the kernel hands out to bind(0) can be
 * taken again by any outgoing connection between our close and the broker's listen (a broker once failed to
 * start with EADDRINUSE on its peer port so). Each vitest worker draws from its own slice, so parallel test
 * files do not pick each other's ports either.
 */
const PORT_SLICE = 1500;
const PORT_BASE = 20000 + (Number(process.env.VITEST_POOL_ID ?? 0) % 8) * PORT_SLICE;

/** Listens on `port` if it is free; false if it is taken. */
function tryListen(server: Server, port: number, host: string): Promise<boolean> {
  return new Promise<boolean>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE' || err.code === 'EACCES') resolve(false);
      else reject(err);
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve(true);
    });
  });
}

/**
 * `count` distinct ports free right now: each held (listening) while the others are found, then all closed
 * (the voter list must name peer ports up front). Taken one at a time, two calls could be handed the same port
 * once the first was closed again.
 */
export async function freePorts(count: number, host = HOST): Promise<number[]> {
  const servers: Server[] = [];
  try {
    const ports: number[] = [];
    for (let tries = 0; ports.length < count; tries++) {
      if (tries > PORT_SLICE)
        throw new Error(`no ${count} free ports in ${PORT_BASE}-${PORT_BASE + PORT_SLICE}`);
      const port = PORT_BASE + Math.floor(Math.random() * PORT_SLICE);
      if (ports.includes(port)) continue;
      const server = createServer();
      if (await tryListen(server, port, host)) {
        servers.push(server);
        ports.push(port);
      }
    }
    return ports;
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

export async function getJson(
  port: number,
  path: string,
  host = HOST,
): Promise<{ code: number; body: unknown }> {
  try {
    const res = await fetch(`http://${host}:${port}${path}`, { signal: AbortSignal.timeout(2_000) });
    return { code: res.status, body: await res.json() };
  } catch (err) {
    return { code: 0, body: String(err) };
  }
}

export async function raftView(b: BrokerProcess): Promise<RaftView> {
  const { body } = await getJson(b.httpPort, '/health/raft', b.host);
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

/** True once every broker reports the cluster at the feature level this build supports (else undefined). */
export async function levelFinalizedEverywhere(brokers: readonly BrokerProcess[]): Promise<true | undefined> {
  const views = await Promise.all(brokers.map(raftView));
  return views.every((v) => v.feature_level?.cluster === SUPPORTED_FEATURE_LEVEL) ? true : undefined;
}

export async function ready(b: BrokerProcess): Promise<boolean> {
  return (await getJson(b.httpPort, '/health/ready', b.host)).code === 200;
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

/**
 * A cluster-mode broker: `id`, its data dir and peer port, the voter list, extra env; optionally fixed client
 * and HTTP ports (a restart on the same ones), another build's CLI entry, and the loopback address it listens
 * on (default HOST).
 */
export function startClusterBroker(options: {
  id: number;
  dataDir: string;
  peerPort: number;
  voters: string;
  env?: NodeJS.ProcessEnv;
  port?: number;
  httpPort?: number;
  cli?: string;
  host?: string;
}): Promise<BrokerProcess> {
  const host = options.host ?? HOST;
  return startBroker({
    dataDir: options.dataDir,
    host,
    ...(options.port === undefined ? {} : { port: options.port }),
    ...(options.httpPort === undefined ? {} : { httpPort: options.httpPort }),
    ...(options.cli === undefined ? {} : { cli: options.cli }),
    env: {
      STREAMBUS_BROKER_ID: String(options.id),
      STREAMBUS_CLUSTER_ENABLED: 'true',
      STREAMBUS_CLUSTER_PEER_LISTEN: `${host}:${options.peerPort}`,
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
  const started = await Promise.allSettled(
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
  const failed = started.find((r) => r.status === 'rejected');
  if (failed === undefined) return started.map((r) => (r as PromiseFulfilledResult<BrokerProcess>).value);
  // The caller never gets the ones that did start: stop them here, or they outlive the test run.
  await Promise.all(started.map((r) => (r.status === 'fulfilled' ? r.value.kill() : undefined)));
  throw failed.reason;
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

/**
 * Brokers started (and restarted) one at a time by id, for tests that kill, restart or add brokers: ids 1 to
 * `voterCount` form the metadata quorum, higher ids join as non-voters. Peer ports for all `count` are picked
 * at the first start (the voter list must name them up front). `running` holds each id's live process
 * (`start` sets it; a test that kills one deletes it). Registers an afterAll that closes `clients`, kills
 * what runs and removes the data folders. `host`: the loopback address every broker listens on (default HOST).
 */
export function brokerFleet(
  name: string,
  count: number,
  options: { voterCount?: number; env?: NodeJS.ProcessEnv; host?: string } = {},
): {
  dirs: string[];
  running: Map<number, BrokerProcess>;
  clients: StreamBusClient[];
  /** Starts broker `id`; `env` adds to (or overrides) the fleet's. */
  start(id: number, env?: NodeJS.ProcessEnv): Promise<BrokerProcess>;
  /** `id@host:port` of the given brokers, comma-separated: a cluster.voters of a joiner's own choosing. */
  voterList(ids: readonly number[]): Promise<string>;
} {
  // Made when the suite runs, not when it is declared: a suite skipped (e.g. by -t) leaves no folders behind.
  const dirs: string[] = [];
  beforeAll(() => {
    for (let i = 0; i < count; i++) dirs.push(tempDir(`streambus-${name}-${i + 1}-`));
  });
  const running = new Map<number, BrokerProcess>();
  const clients: StreamBusClient[] = [];
  let ports: Promise<number[]> | undefined;
  afterAll(async () => {
    for (const c of clients) await c.close();
    await Promise.all([...running.values()].map((b) => b.kill()));
    for (const d of dirs) removeDir(d);
  });
  const host = options.host ?? HOST;
  const start = async (id: number, env?: NodeJS.ProcessEnv): Promise<BrokerProcess> => {
    ports ??= freePorts(count, host);
    const peerPorts = await ports;
    const voters = peerPorts
      .slice(0, options.voterCount ?? 3)
      .map((p, i) => `${i + 1}@${host}:${p}`)
      .join(',');
    const b = await startClusterBroker({
      id,
      dataDir: dirs[id - 1] as string,
      peerPort: peerPorts[id - 1] as number,
      voters,
      env: { ...options.env, ...env },
      host,
    });
    running.set(id, b);
    return b;
  };
  const voterList = async (ids: readonly number[]): Promise<string> => {
    ports ??= freePorts(count, host);
    const peerPorts = await ports;
    return ids.map((id) => `${id}@${host}:${peerPorts[id - 1]}`).join(',');
  };
  return { dirs, running, clients, start, voterList };
}
