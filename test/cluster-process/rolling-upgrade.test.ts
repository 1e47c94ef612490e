/**
 * A rolling upgrade from the last build before cluster feature levels to this one, on three real broker
 * processes (metadata voters 1-3), under a stream of acks=all writes. The brokers start on the old build and
 * are restarted one at a time on this build (SIGTERM; same data dir, ports and config); the first is rolled back
 * to the old build once (what it wrote must read there) and upgraded again. While an old broker
 * remains, the cluster stays at feature level 1 and both features of level 2 stay off, observably:
 * - partition quiescence: idle partitions led by a new broker keep heartbeating (no replica is quiet), so
 *   their old followers never elect a leader of their own and no leader epoch moves while nothing is written;
 * - in-sync set batches: with broker 2 down past the replica lag time, broker 1 (new) drops it from the
 *   in-sync sets of the partitions it leads, and broker 3 (old) holds the same in-sync sets and leader epochs
 *   at the same metadata version (an updateInSyncSets it cannot decode it would skip as a replica, or refuse
 *   as the metadata leader).
 * Once the last broker runs this build, the coordinator finalizes level 2 and idle partitions go quiet. Then
 * every acknowledged message is read back exactly once, at the offset its acknowledgement named, in send
 * order within its partition.
 * Needs `npm run build` first (this build's brokers run dist/); builds the old release itself (about 3 s).
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, symlinkSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Connection } from '../../src/client/connection.js';
import { createClient, type Producer, type StreamBusClient } from '../../src/index.js';
import { SUPPORTED_FEATURE_LEVEL } from '../../src/metadata/feature-levels.js';
import { ApiKey } from '../../src/protocol/index.js';
import { type BrokerProcess, removeDir, tempDir } from '../helpers/broker-process.js';
import {
  formedCluster,
  freePorts,
  HOST,
  raftView,
  ready,
  startClusterBroker,
  until,
} from '../helpers/cluster-processes.js';

const run = promisify(execFile);

/**
 * The build upgraded from: the last commit before cluster feature levels, the updateInSyncSets metadata
 * command and Raft partition quiescence, so a level-1 build (its /health/raft has no feature_level).
 */
const OLD_BUILD_COMMIT = '93ef141';
const NEW_CLI = resolve(import.meta.dirname, '../../dist/cmd/streambus.js');

const TOPIC = 'upgrade';
const PARTITIONS = 6;
const BROKER_IDS = [1, 2, 3] as const;
/** REPLICA_LAG_TIME_MAX_MS (not configurable, the same in both builds): a broker down longer leaves the ISRs. */
const REPLICA_LAG_TIME_MAX_MS = 10_000;
/** Idle for a few election timeouts (10 ticks of 100 ms, randomized up to twice that). */
const IDLE_WINDOW_MS = 4_000;
const SENDS_IN_FLIGHT_MAX = 32;

type Build = 'old' | 'new';

interface PartitionView {
  partition: number;
  leaderId: number;
  leaderEpoch: number;
  replicas: number[];
  isr: number[];
}

/** Brokers' Metadata answers for the topic, all taken at one metadata version. */
interface ClusterViews {
  version: number;
  byBroker: Map<number, PartitionView[]>;
}

/** Builds the old release into `dir` with this repo's compiler and dependencies; returns its CLI entry. */
async function buildOldRelease(dir: string): Promise<string> {
  const root = (
    await run('git', ['rev-parse', '--show-toplevel'], { cwd: import.meta.dirname })
  ).stdout.trim();
  try {
    await run('git', ['cat-file', '-e', `${OLD_BUILD_COMMIT}^{commit}`], { cwd: root });
  } catch {
    throw new Error(
      `commit ${OLD_BUILD_COMMIT} (the build this test upgrades from) is not in this clone, a shallow one ` +
        'perhaps: fetch the history (git fetch --unshallow) to run the rolling-upgrade test',
    );
  }
  const tar = join(dir, 'old.tar');
  await run('git', ['archive', '--format=tar', '-o', tar, OLD_BUILD_COMMIT], { cwd: root });
  const tree = join(dir, 'tree');
  mkdirSync(tree);
  await run('tar', ['-x', '-f', tar, '-C', tree]);
  symlinkSync(join(root, 'node_modules'), join(tree, 'node_modules'));
  await run(join(tree, 'node_modules/.bin/tsc'), ['-p', 'tsconfig.json'], { cwd: tree });
  const cli = join(tree, 'dist/cmd/streambus.js');
  if (!existsSync(cli)) throw new Error(`building ${OLD_BUILD_COMMIT} made no ${cli}`);
  return cli;
}

/**
 * Sends 0, 1, 2, ... (keyed, so spread over the partitions) and records where each acknowledged message
 * landed. `pause` waits for what is in flight, so the partitions go idle; `halt` stops sending at once.
 */
class SequencedProducer {
  readonly acked = new Map<number, { partition: number; offset: number }>();
  readonly failureCodes = new Map<string, number>();
  private readonly inFlight = new Set<Promise<void>>();
  private halted = false;
  private paused: { promise: Promise<void>; resume: () => void } | undefined;
  private readonly loop: Promise<void>;

  constructor(private readonly producer: Producer) {
    this.loop = this.run();
  }

  async pause(): Promise<void> {
    let resume = (): void => {};
    const promise = new Promise<void>((r) => {
      resume = r;
    });
    this.paused = { promise, resume };
    // The loop looks at `paused` just before each send, so nothing joins inFlight from here on.
    await Promise.all(this.inFlight);
  }

  resume(): void {
    this.paused?.resume();
    this.paused = undefined;
  }

  halt(): void {
    this.halted = true;
    this.resume();
  }

  async stop(): Promise<void> {
    this.halt();
    await this.loop;
  }

  private async run(): Promise<void> {
    for (let seq = 0; ; seq++) {
      while (!this.halted && (this.paused !== undefined || this.inFlight.size >= SENDS_IN_FLIGHT_MAX)) {
        await (this.paused?.promise ?? Promise.race(this.inFlight));
      }
      if (this.halted) break;
      const sent = this.producer
        .send({ topic: TOPIC, messages: [{ key: `k${seq % 97}`, value: String(seq) }] })
        .then(
          ([meta]) => {
            this.acked.set(seq, { partition: meta!.partition, offset: meta!.offset });
          },
          (err: unknown) => {
            const code = (err as { code?: string }).code ?? String(err);
            this.failureCodes.set(code, (this.failureCodes.get(code) ?? 0) + 1);
          },
        )
        .finally(() => this.inFlight.delete(sent));
      this.inFlight.add(sent);
    }
    await Promise.all(this.inFlight);
  }
}

/** The topic's partitions as `b` answers Metadata (from its metadata image); undefined if it does not. */
async function metadataOf(b: BrokerProcess): Promise<PartitionView[] | undefined> {
  let conn: Connection | undefined;
  try {
    conn = await Connection.connect({ host: b.host, port: b.port, clientId: 'rolling-upgrade' });
    const md = await conn.request(ApiKey.Metadata, { topics: [TOPIC] });
    const t = md.topics.find((x) => x.name === TOPIC);
    if (t === undefined || t.error !== null || t.partitions.length !== PARTITIONS) return undefined;
    return t.partitions
      .map((p) => ({
        partition: p.partition,
        leaderId: p.leaderId,
        leaderEpoch: p.leaderEpoch,
        replicas: [...p.replicas],
        isr: [...p.isr].sort((x, y) => x - y),
      }))
      .sort((x, y) => x.partition - y.partition);
  } catch {
    return undefined;
  } finally {
    await conn?.close().catch(() => {});
  }
}

/** The sum of a metric's samples on `b`'s /metrics; undefined when it has none (the old build's). */
async function metricOf(b: BrokerProcess, name: string): Promise<number | undefined> {
  const res = await fetch(`http://${HOST}:${b.httpPort}/metrics`, { signal: AbortSignal.timeout(2_000) });
  const samples = (await res.text())
    .split('\n')
    .filter((line) => line.startsWith(`${name} `) || line.startsWith(`${name}{`))
    .map((line) => Number(line.slice(line.lastIndexOf(' ') + 1)));
  return samples.length === 0 ? undefined : samples.reduce((x, y) => x + y, 0);
}

/** `until`, whose timeout also says what the probe saw last (it reports that through `note`). */
async function untilSaying<T>(
  what: string,
  probe: (note: (seen: unknown) => void) => Promise<T | undefined>,
  timeoutMs: number,
): Promise<T> {
  let last: unknown;
  try {
    return await until(what, () => probe((seen) => (last = seen)), timeoutMs);
  } catch (err) {
    throw new Error(`${(err as Error).message}; last seen: ${JSON.stringify(last)}`);
  }
}

/** Three cluster brokers on fixed ports, each run on the old build or on this one. */
class UpgradeCluster {
  readonly running = new Map<number, BrokerProcess>();
  readonly build = new Map<number, Build>();

  /** `ports`: 3 peer, 3 client, 3 HTTP, by broker id. */
  constructor(
    private readonly dirs: readonly string[],
    private readonly ports: readonly number[],
    private readonly cli: Record<Build, string>,
  ) {}

  async start(id: number, build: Build): Promise<void> {
    const b = await startClusterBroker({
      id,
      dataDir: this.dirs[id - 1] as string,
      peerPort: this.ports[id - 1] as number,
      voters: BROKER_IDS.map((v) => `${v}@${HOST}:${this.ports[v - 1]}`).join(','),
      port: this.ports[2 + id] as number,
      httpPort: this.ports[5 + id] as number,
      cli: this.cli[build],
    });
    this.running.set(id, b);
    this.build.set(id, build);
  }

  /** SIGTERM (a clean exit), `whileDown`, then a start on this build at the same place. */
  upgrade(id: number, whileDown?: (id: number) => Promise<void>): Promise<void> {
    return this.restart(id, 'new', whileDown);
  }

  /** SIGTERM (a clean exit), `whileDown`, then a start on `build` at the same place. */
  async restart(id: number, build: Build, whileDown?: (id: number) => Promise<void>): Promise<void> {
    expect(await this.broker(id).stop(), `broker ${id}'s exit code`).toBe(0);
    this.running.delete(id);
    await whileDown?.(id);
    await this.start(id, build);
  }

  broker(id: number): BrokerProcess {
    const b = this.running.get(id);
    if (b === undefined) throw new Error(`broker ${id} is not running`);
    return b;
  }

  newIds(): number[] {
    return BROKER_IDS.filter((id) => this.build.get(id) === 'new');
  }

  /** The given brokers' views, if they answer at one metadata version that did not move meanwhile. */
  async viewsAtOneVersion(
    ids: readonly number[],
    note: (seen: unknown) => void,
  ): Promise<ClusterViews | undefined> {
    const brokers = ids.map((id) => this.broker(id));
    const before = await Promise.all(brokers.map(raftView));
    const views = await Promise.all(brokers.map(metadataOf));
    const after = await Promise.all(brokers.map(raftView));
    note({ versions: [...before, ...after].map((v) => v.metadata_version), views });
    const versions = new Set([...before, ...after].map((v) => v.metadata_version));
    const [version] = [...versions];
    if (versions.size !== 1 || version === undefined || views.some((v) => v === undefined)) return undefined;
    return { version, byBroker: new Map(ids.map((id, i) => [id, views[i] as PartitionView[]])) };
  }

  /** Every broker ready and at one metadata version, each partition led by its first replica, all in sync. */
  settled(what: string): Promise<ClusterViews> {
    return untilSaying(
      what,
      async (note) => {
        const readiness = await Promise.all(BROKER_IDS.map((id) => ready(this.broker(id))));
        if (!readiness.every(Boolean)) return undefined;
        const views = await this.viewsAtOneVersion(BROKER_IDS, note);
        const partitions = views?.byBroker.get(1);
        return partitions?.every((p) => p.isr.length === 3 && p.leaderId === p.replicas[0])
          ? views
          : undefined;
      },
      60_000,
    );
  }
}

/** Each broker's in-sync sets and leader epochs are the first one's (they are at one metadata version). */
function expectViewsAgree(views: ClusterViews): void {
  const strip = (ps: PartitionView[]) =>
    ps.map(({ partition, leaderEpoch, isr }) => ({ partition, leaderEpoch, isr }));
  const [first, ...rest] = [...views.byBroker.entries()];
  if (first === undefined) throw new Error('no broker views to compare');
  for (const [id, partitions] of rest) {
    expect(
      strip(partitions),
      `broker ${id}'s view vs broker ${first[0]}'s at version ${views.version}`,
    ).toEqual(strip(first[1]));
  }
}

/**
 * Mixed builds: every new broker's image says level 1 (the old brokers registered without a level, read as
 * the baseline), and idle partitions keep their leaders (the quiescence gate).
 */
async function expectLevelOneAndNoQuiescence(
  cluster: UpgradeCluster,
  producer: SequencedProducer,
): Promise<void> {
  expectViewsAgree(await cluster.settled('every broker back, in sync and leading its preferred partitions'));
  for (const id of cluster.newIds()) {
    const view = await raftView(cluster.broker(id));
    expect(view.feature_level, `broker ${id}'s /health/raft`).toEqual({
      cluster: 1,
      supported: SUPPORTED_FEATURE_LEVEL,
    });
    expect(await metricOf(cluster.broker(id), 'streambus_cluster_feature_level')).toBe(1);
    const levels = Object.fromEntries((view.brokers ?? []).map((b) => [b.id, b.feature_level]));
    expect(levels, `broker levels in broker ${id}'s image`).toEqual(
      Object.fromEntries(
        BROKER_IDS.map((b) => [b, cluster.build.get(b) === 'new' ? SUPPORTED_FEATURE_LEVEL : 1]),
      ),
    );
  }
  await expectClusterStatusFromEveryBuild(cluster);

  await producer.pause();
  const idleFrom = (await cluster.settled('partitions settled before idling')).byBroker.get(1)!;
  const epochs = idleFrom.map((p) => p.leaderEpoch);
  const endMs = Date.now() + IDLE_WINDOW_MS;
  while (Date.now() < endMs) {
    for (const id of cluster.newIds()) {
      const quiet = await metricOf(cluster.broker(id), 'streambus_partition_replicas_quiescent');
      expect(quiet, `quiet partition replicas on broker ${id} (build new) below level 2`).toBe(0);
    }
    for (const id of BROKER_IDS) {
      const now = await metadataOf(cluster.broker(id));
      const seen = now?.map((p) => p.leaderEpoch);
      expect(seen, `leader epochs on broker ${id} (build ${cluster.build.get(id)}) while idle`).toEqual(
        epochs,
      );
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  expectViewsAgree(await cluster.settled('partitions settled after idling'));
  producer.resume();
}

/**
 * `cluster status` asked of each broker: a new one answers DescribeCluster v1 with the levels (the cluster's
 * and each broker's), an old one does not know v1 and the SDK asks it v0 instead.
 */
async function expectClusterStatusFromEveryBuild(cluster: UpgradeCluster): Promise<void> {
  for (const id of BROKER_IDS) {
    const one = createClient({ bootstrap: [cluster.broker(id).bootstrap], requestTimeoutMs: 5_000 });
    try {
      const status = await one.admin().describeCluster();
      expect(status.brokerId, 'the broker asked answers').toBe(id);
      if (cluster.build.get(id) === 'old') {
        expect(status.featureLevel, `broker ${id} (old build) answers v0`).toBeUndefined();
        continue;
      }
      expect(status.featureLevel).toBe(1);
      expect(status.supportedFeatureLevel).toBe(SUPPORTED_FEATURE_LEVEL);
      expect(Object.fromEntries(status.brokers.map((b) => [b.id, b.featureLevel]))).toEqual(
        Object.fromEntries(
          BROKER_IDS.map((b) => [b, cluster.build.get(b) === 'new' ? SUPPORTED_FEATURE_LEVEL : 1]),
        ),
      );
    } finally {
      await one.close();
    }
  }
}

/**
 * The in-sync gate, while `down` is away past the lag time: its partitions' leaders, a new broker among
 * them, drop it from their in-sync sets, and the brokers still up (an old one among them) hold the same
 * in-sync sets and leader epochs at one metadata version.
 */
async function expectInSyncSetsShrinkAlike(cluster: UpgradeCluster, down: number): Promise<void> {
  const others = BROKER_IDS.filter((id) => id !== down);
  const shrunk = await untilSaying(
    `every in-sync set without broker ${down}, brokers ${others.join(' and ')} at one metadata version`,
    async (note) => {
      const views = await cluster.viewsAtOneVersion(others, note);
      const partitions = views?.byBroker.get(others[0]!);
      return partitions?.every((p) => !p.isr.includes(down)) ? views : undefined;
    },
    REPLICA_LAG_TIME_MAX_MS + 30_000,
  );
  expectViewsAgree(shrunk);
  const ledByNew = shrunk.byBroker.get(others[0]!)!.filter((p) => cluster.build.get(p.leaderId) === 'new');
  expect(ledByNew.length, 'partitions whose in-sync set a new broker shrank').toBeGreaterThan(0);
}

/**
 * Reads every partition to its end: each acknowledged message is there once, at the offset it was
 * acknowledged at, and within a partition acknowledged offsets follow the send order.
 */
async function expectEveryAckReadBackOnce(
  client: StreamBusClient,
  acked: ReadonlyMap<number, { partition: number; offset: number }>,
): Promise<void> {
  const ends = await client
    .admin()
    .listOffsets(
      Array.from({ length: PARTITIONS }, (_, partition) => ({ topic: TOPIC, partition, timestamp: -1 })),
    );
  const consumer = client.consumer({ autoOffsetReset: 'earliest', maxWaitMs: 200 });
  await consumer.assign([{ topic: TOPIC }]);
  const seen = new Map<string, number>(); // "partition:offset" -> seq
  const copies = new Map<number, number>(); // seq -> offsets holding it
  const atEnd = (): boolean =>
    ends.every((e) => (consumer.position({ topic: TOPIC, partition: e.partition }) ?? 0) >= e.offset);
  try {
    await until(
      'every partition read to its end',
      async () => {
        for (let round = 0; round < 1_000 && !atEnd(); round++) {
          const messages = await consumer.poll();
          if (messages.length === 0) break;
          for (const m of messages) {
            const key = `${m.partition}:${m.offset}`;
            if (seen.has(key)) continue;
            const seq = Number(m.value?.toString());
            seen.set(key, seq);
            copies.set(seq, (copies.get(seq) ?? 0) + 1);
          }
        }
        return atEnd() ? true : undefined;
      },
      60_000,
    );
  } finally {
    await consumer.close();
    const lost = [...acked.keys()].filter((seq) => !copies.has(seq));
    const duplicated = [...acked.keys()].filter((seq) => (copies.get(seq) ?? 0) > 1);
    console.log(
      `rolling-upgrade: ${seen.size} messages read; of ${acked.size} acknowledged, ${lost.length} lost ` +
        `${JSON.stringify(lost.slice(0, 5))}, ${duplicated.length} duplicated ${JSON.stringify(duplicated.slice(0, 5))}`,
    );
  }
  const misplaced = [...acked].filter(([seq, at]) => seen.get(`${at.partition}:${at.offset}`) !== seq);
  expect(misplaced.slice(0, 5), `${misplaced.length} acknowledged not at their offsets`).toEqual([]);
  const duplicated = [...acked.keys()].filter((seq) => (copies.get(seq) ?? 0) > 1);
  expect(duplicated.slice(0, 5), `${duplicated.length} acknowledged read more than once`).toEqual([]);
  const byPartition = new Map<number, { seq: number; offset: number }[]>();
  for (const [seq, at] of acked) {
    const list = byPartition.get(at.partition) ?? [];
    list.push({ seq, offset: at.offset });
    byPartition.set(at.partition, list);
  }
  for (const [partition, list] of byPartition) {
    list.sort((x, y) => x.seq - y.seq);
    const reordered = list.filter((x, i) => i > 0 && x.offset <= list[i - 1]!.offset);
    expect(reordered.slice(0, 5), `partition ${partition}: acknowledged out of send order`).toEqual([]);
  }
}

describe('rolling upgrade from the build before cluster feature levels', () => {
  const scratch = tempDir('streambus-old-build-');
  const dirs = BROKER_IDS.map((id) => tempDir(`streambus-upgrade-${id}-`));
  let oldCli = '';
  let cluster: UpgradeCluster | undefined;
  let client: StreamBusClient | undefined;
  let producer: SequencedProducer | undefined;

  beforeAll(async () => {
    const startedMs = Date.now();
    oldCli = await buildOldRelease(scratch);
    console.log(`rolling-upgrade: built ${OLD_BUILD_COMMIT} in ${Date.now() - startedMs} ms`);
  }, 120_000);

  afterAll(async () => {
    // First the sending: a closed client fails each send at once, and the loop would spin on that.
    producer?.halt();
    await client?.close();
    await Promise.all([...(cluster?.running.values() ?? [])].map((b) => b.kill()));
    for (const d of [scratch, ...dirs]) removeDir(d);
  });

  it('keeps every acknowledged write and holds level-2 features back until every broker runs the new build', async () => {
    const t0 = Date.now();
    const mark = (what: string): void => console.log(`rolling-upgrade: ${what} at ${Date.now() - t0} ms`);
    const c = new UpgradeCluster(dirs, await freePorts(9), { old: oldCli, new: NEW_CLI });
    cluster = c;

    // Three brokers on the old build, and really the old one.
    await Promise.all(BROKER_IDS.map((id) => c.start(id, 'old')));
    await until(
      'a metadata leader seeing all three brokers alive',
      () => formedCluster([...c.running.values()]),
      30_000,
    );
    for (const id of BROKER_IDS) {
      expect((await raftView(c.broker(id))).feature_level).toBeUndefined();
      expect(await metricOf(c.broker(id), 'streambus_feature_level_supported')).toBeUndefined();
    }
    mark('old cluster formed');

    client = createClient({
      bootstrap: BROKER_IDS.map((id) => c.broker(id).bootstrap),
      requestTimeoutMs: 5_000,
    });
    await client.admin().createTopic({
      name: TOPIC,
      partitions: PARTITIONS,
      replicationFactor: 3,
      configs: { min_insync_replicas: '2' },
    });
    await c.settled('the topic placed, led and in sync');
    const p = new SequencedProducer(client.producer({ acks: -1, lingerMs: 2 }));
    producer = p;
    await until('acknowledgements from the old cluster', async () =>
      p.acked.size >= 500 ? true : undefined,
    );

    await c.upgrade(1);
    mark('broker 1 upgraded');
    await expectLevelOneAndNoQuiescence(c, p);
    mark('mixed cluster (1 new) checked');
    // Rolled back before the level is finalized: the old build runs on what the new one wrote.
    await c.restart(1, 'old');
    expect((await raftView(c.broker(1))).feature_level, 'broker 1 on the old build again').toBeUndefined();
    await c.settled('broker 1 back on the old build, in sync');
    mark('broker 1 rolled back');
    await c.upgrade(1);
    mark('broker 1 upgraded again');
    await c.upgrade(2, (down) => expectInSyncSetsShrinkAlike(c, down));
    mark('broker 2 upgraded, after its in-sync sets shrank');
    await expectLevelOneAndNoQuiescence(c, p);
    mark('mixed cluster (2 new) checked');
    // An operator's reassignment needs level 5, which an old replica could not decode: refused while one
    // remains, whichever broker answers (a new one names the old brokers, an old one does not know the api).
    await expect(
      client.admin().reassignPartitions(TOPIC, [{ partition: 0, replicas: [3, 2, 1] }]),
    ).rejects.toMatchObject({ code: 'FEATURE_NOT_FINALIZED' });
    // So are client quota resources (level 6), described or altered: an old broker could not even decode
    // one (INVALID_REQUEST), so the client asks the cluster's level before sending them.
    await expect(
      client
        .admin()
        .alterConfig({ type: 'client', name: 'upgrade' }, { set: { producer_byte_rate: '1048576' } }),
    ).rejects.toMatchObject({ code: 'FEATURE_NOT_FINALIZED' });
    await expect(client.admin().describeConfig({ type: 'client', name: 'upgrade' })).rejects.toMatchObject({
      code: 'FEATURE_NOT_FINALIZED',
    });
    // And DeleteRecords (level 9): a new leader refuses it before writing, an old one does not know the api
    // (the SDK says FEATURE_NOT_FINALIZED for both).
    const [deleteEarly] = await client.admin().deleteRecords([{ topic: TOPIC, partition: 0, offset: 0 }]);
    expect(deleteEarly?.error?.code).toBe('FEATURE_NOT_FINALIZED');
    await c.upgrade(3);
    mark('broker 3 upgraded');

    // Every broker on this build: its level is finalized, and idle partitions go quiet.
    await until(
      `feature level ${SUPPORTED_FEATURE_LEVEL} on every broker`,
      async () => {
        const views = await Promise.all(BROKER_IDS.map((id) => raftView(c.broker(id))));
        const done = views.every(
          (v) =>
            v.feature_level?.cluster === SUPPORTED_FEATURE_LEVEL &&
            v.brokers?.every((b) => b.feature_level === SUPPORTED_FEATURE_LEVEL),
        );
        return done ? true : undefined;
      },
      30_000,
    );
    mark('level finalized');
    // ...and accepted from then on (an unpin of a partition never pinned changes nothing).
    await client.admin().unpinPartitions(TOPIC, [0]);
    await client
      .admin()
      .alterConfig({ type: 'client', name: 'upgrade' }, { set: { producer_byte_rate: '1048576' } });
    await client.admin().alterConfig({ type: 'client', name: 'upgrade' }, { delete: ['producer_byte_rate'] });
    // (Offset 0: nothing is deleted, so every acknowledged write still reads back below.)
    const [deleteLate] = await client.admin().deleteRecords([{ topic: TOPIC, partition: 0, offset: 0 }]);
    expect(deleteLate).toMatchObject({ lowWatermark: 0, error: null });
    await p.pause();
    await until(
      'a quiet partition replica',
      async () => {
        const quiet = await Promise.all(
          BROKER_IDS.map((id) => metricOf(c.broker(id), 'streambus_partition_replicas_quiescent')),
        );
        return quiet.some((n) => n !== undefined && n > 0) ? true : undefined;
      },
      30_000,
    );
    mark('quiescence on');

    await p.stop();
    console.log(
      `rolling-upgrade: ${p.acked.size} acknowledged; failed sends ${JSON.stringify([...p.failureCodes])}`,
    );
    expect(p.acked.size).toBeGreaterThan(1_000);
    await expectEveryAckReadBackOnce(client, p.acked);
    mark('read back');
  }, 240_000);
});
