/**
 * What the client knows about the cluster: bootstrap addresses, the cached Metadata (refreshed when it is
 * older than `metadataMaxAgeMs`, or on demand after NOT_LEADER / UNKNOWN_TOPIC_OR_PARTITION /
 * LEADER_NOT_AVAILABLE), and one Connection per broker address, re-established with exponential backoff and
 * full jitter after a failure. No background timers: refresh happens when someone asks.
 */
import { StreamBusError, toStreamBusError } from '../errors/index.js';
import { ApiKey, type MetadataResponse, type RequestOf, type ResponseOf } from '../protocol/index.js';
import { backoffMs, delay } from './backoff.js';
import { Connection, type ConnectionOptions, type RequestOptions } from './connection.js';
import type { ClientTlsOptions } from './connection-tls.js';
import { firstAnswer } from './first-answer.js';
import { LeaderHints } from './leader-hints.js';
import { type Clock, clientClock, clientTimers, type Random, type Timers } from './timers.js';

export interface ClusterOptions {
  /** `host:port` addresses of any brokers; one answering is enough. */
  bootstrap: string[];
  clientId?: string;
  requestTimeoutMs?: number;
  connectTimeoutMs?: number;
  maxInFlightRequests?: number;
  /** TLS to every broker (their client listeners serve it: broker.tls.enabled); `true` trusts Node's bundled CAs. */
  tls?: ClientTlsOptions | true;
  /** Cached metadata older than this is refreshed on next use. */
  metadataMaxAgeMs?: number;
  reconnectBackoffMs?: number;
  reconnectBackoffMaxMs?: number;
  /**
   * A read-only request to "any broker" (metadata, describe, list, find coordinator) that has no answer
   * after this long is also sent to the next broker; the first answer wins.
   */
  hedgeAfterMs?: number;
  clock?: Clock;
  timers?: Timers;
  random?: Random;
}

export const CLUSTER_DEFAULTS = {
  metadataMaxAgeMs: 300_000,
  reconnectBackoffMs: 50,
  reconnectBackoffMaxMs: 10_000,
  hedgeAfterMs: 1_000,
} as const;

/**
 * Requests `requestAny` may send again to the next broker, after it timed out on one (a paused broker keeps
 * its connection open and answers nothing until the request timeout) or before, by hedging: those that only
 * read, and InitProducerId, which only hands out a fresh producer id (asked twice, the id not taken is never
 * used: ids are not reused, and nothing waits for it).
 */
const REPEATABLE_APIS: ReadonlySet<ApiKey> = new Set<ApiKey>([
  ApiKey.Metadata,
  ApiKey.ApiVersions,
  ApiKey.ListTopics,
  ApiKey.DescribeTopics,
  ApiKey.DescribeCluster,
  ApiKey.DescribeConfigs,
  ApiKey.FindCoordinator,
  ApiKey.InitProducerId,
]);

/** Codes after which cached metadata is presumed stale. */
export const STALE_METADATA_CODES: ReadonlySet<string> = new Set([
  'NOT_LEADER',
  'UNKNOWN_TOPIC_OR_PARTITION',
  'LEADER_NOT_AVAILABLE',
  'BROKER_NOT_AVAILABLE',
]);

interface AddressState {
  connection: Promise<Connection> | null;
  /** The connection once established, until it closes. */
  open: Connection | null;
  failures: number;
  /** Earliest time the next connect attempt may start. */
  nextAttemptAtMs: number;
}

export function parseAddress(address: string): { host: string; port: number } {
  const at = address.lastIndexOf(':');
  const host = at > 0 ? address.slice(0, at).replace(/^\[(.*)\]$/, '$1') : '';
  const port = Number(address.slice(at + 1));
  if (at <= 0 || host === '' || !Number.isInteger(port) || port <= 0 || port > 65535) {
    throw new StreamBusError('INVALID_CONFIG', {
      message: `bootstrap address "${address}" is not host:port`,
    });
  }
  return { host, port };
}

export class Cluster {
  private readonly bootstrap: string[];
  private readonly options: ClusterOptions;
  private readonly clock: Clock;
  private readonly timers: Timers;
  private readonly random: Random;
  private readonly addresses = new Map<string, AddressState>();
  private readonly leaderHints = new LeaderHints();
  private cached: MetadataResponse | null = null;
  private cachedAtMs = Number.NEGATIVE_INFINITY;
  /** Set by invalidateMetadata (an error said the cache is wrong): the next use waits for fresh metadata. */
  private invalidated = false;
  /** Topics the cache should cover; null means all. */
  private readonly interest = new Set<string>();
  private refreshing: Promise<MetadataResponse> | null = null;
  private closed = false;
  /** Aborted by close(): a reconnect backoff (up to reconnectBackoffMaxMs) must not hold a closed client. */
  private readonly closing = new AbortController();
  /** Advances with each requestAny: where its rotations start. */
  private turn = 0;

  constructor(options: ClusterOptions) {
    if (options.bootstrap.length === 0) {
      throw new StreamBusError('INVALID_CONFIG', { message: 'bootstrap needs at least one host:port' });
    }
    for (const a of options.bootstrap) parseAddress(a);
    this.bootstrap = [...options.bootstrap];
    this.options = options;
    this.clock = options.clock ?? clientClock;
    this.timers = options.timers ?? clientTimers;
    this.random = options.random ?? Math.random;
  }

  get clientId(): string | undefined {
    return this.options.clientId;
  }

  /**
   * Cached metadata; waits for a refresh when there is none, it does not cover `topics`, or an error
   * invalidated it. Metadata that is only older than `metadataMaxAgeMs` is answered at once and refreshed in
   * the background (as Kafka's clients do): a refresh can wait a whole request timeout on a broker that
   * stopped answering, and sends to leaders that still answer must not wait with it.
   */
  async metadata(topics?: readonly string[]): Promise<MetadataResponse> {
    const missing = topics?.some(
      (t) => !this.interest.has(t) || !this.cached?.topics.some((m) => m.name === t),
    );
    for (const t of topics ?? []) this.interest.add(t);
    if (this.cached === null || missing === true || this.invalidated) return this.refreshMetadata();
    if (this.clock.nowMs() - this.cachedAtMs > this.metadataMaxAgeMs) {
      // Failures are seen by whoever waits next (the cache stays aged, so the next call tries again).
      this.refreshMetadata().catch(() => undefined);
    }
    return this.cached;
  }

  /** Fetches fresh metadata for the topics of interest; concurrent callers share one request. */
  refreshMetadata(): Promise<MetadataResponse> {
    if (this.refreshing) return this.refreshing;
    const topics = this.interest.size === 0 ? [] : [...this.interest];
    this.refreshing = this.fetchMetadata(topics)
      .then((md) => {
        this.cached = md;
        this.cachedAtMs = this.clock.nowMs();
        this.invalidated = false;
        return md;
      })
      .finally(() => {
        this.refreshing = null;
      });
    return this.refreshing;
  }

  /** Metadata for exactly these topics (null = all), bypassing the cache. */
  fetchMetadata(topics: string[] | null): Promise<MetadataResponse> {
    return this.requestAny(ApiKey.Metadata, { topics });
  }

  /**
   * The cached metadata of one topic. A topic the cache says is unknown or leaderless is asked about again
   * first: it may have been created or moved since.
   */
  private async topicMetadata(topic: string, partition?: number): Promise<MetadataResponse> {
    const md = await this.metadata([topic]);
    const t = md.topics.find((x) => x.name === topic);
    const p = partition === undefined ? undefined : t?.partitions.find((x) => x.partition === partition);
    const usable =
      t !== undefined &&
      t.error === null &&
      t.partitions.length > 0 &&
      (partition === undefined ||
        (p !== undefined && p.leaderId >= 0 && md.brokers.some((b) => b.id === p.leaderId)));
    return usable ? md : this.refreshMetadata();
  }

  /**
   * The topic's partition count, from cache; UNKNOWN_TOPIC_OR_PARTITION when the broker does not know it.
   * With `partition`, a cache too old to show that partition is refreshed first: it may have been added
   * since (CreatePartitions), and whoever names it (a group leader with fresher metadata, the application)
   * knows of it before our metadata ages out.
   */
  async partitionCount(topic: string, partition?: number): Promise<number> {
    let md = await this.topicMetadata(topic);
    const cached = md.topics.find((x) => x.name === topic)?.partitions.length ?? 0;
    if (partition !== undefined && partition >= cached) md = await this.refreshMetadata();
    const t = md.topics.find((x) => x.name === topic);
    if (!t || t.error !== null || t.partitions.length === 0) {
      throw new StreamBusError('UNKNOWN_TOPIC_OR_PARTITION', {
        operation: 'cluster.metadata',
        message: t?.error?.message ?? `unknown topic ${topic}`,
        metadata: { topic },
      });
    }
    return t.partitions.length;
  }

  /**
   * The partition's leader, or undefined while fresh metadata names none (a failover under way, too few
   * replicas alive): callers reading many partitions leave that one out and ask again later, instead of
   * failing them all. Other errors (an unknown topic, no broker answering Metadata) are thrown.
   */
  async leaderIfKnown(topic: string, partition: number): Promise<number | undefined> {
    try {
      return await this.leaderFor(topic, partition);
    } catch (err) {
      if (err instanceof StreamBusError && err.code === 'LEADER_NOT_AVAILABLE') return undefined;
      throw err;
    }
  }

  /** The leader's broker id for a partition, from cache; LEADER_NOT_AVAILABLE when none is known. */
  async leaderFor(topic: string, partition: number): Promise<number> {
    const md = await this.topicMetadata(topic, partition);
    const t = md.topics.find((x) => x.name === topic);
    const p = t?.partitions.find((x) => x.partition === partition);
    if (!t || t.error !== null || !p) {
      throw new StreamBusError('UNKNOWN_TOPIC_OR_PARTITION', {
        operation: 'cluster.leader',
        message: `unknown topic or partition ${topic}/${partition}`,
        metadata: { topic, partition },
      });
    }
    const hinted = this.leaderHints.leaderFor(topic, partition, p.leaderEpoch);
    if (hinted !== undefined && md.brokers.some((b) => b.id === hinted)) return hinted;
    if (p.leaderId < 0 || !md.brokers.some((b) => b.id === p.leaderId)) {
      throw new StreamBusError('LEADER_NOT_AVAILABLE', {
        operation: 'cluster.leader',
        message: `no leader for ${topic}/${partition}`,
        metadata: { topic, partition },
      });
    }
    return p.leaderId;
  }

  /**
   * A broker answered NOT_LEADER naming `leaderId` as the partition's leader: sends go there until metadata
   * shows a newer leader epoch for it (leader-hints.ts).
   */
  noteLeader(topic: string, partition: number, leaderId: number): void {
    const p = this.cached?.topics
      .find((t) => t.name === topic)
      ?.partitions.find((x) => x.partition === partition);
    this.leaderHints.note(topic, partition, leaderId, p?.leaderEpoch ?? -1);
  }

  /** How long cached metadata is used before it is refreshed (metadataMaxAgeMs). */
  get metadataMaxAgeMs(): number {
    return this.options.metadataMaxAgeMs ?? CLUSTER_DEFAULTS.metadataMaxAgeMs;
  }

  /** The partition's in-sync replicas in the cached metadata (nothing is refreshed); undefined if not there. */
  cachedInSync(topic: string, partition: number): readonly number[] | undefined {
    return this.cached?.topics
      .find((t) => t.name === topic)
      ?.partitions.find((p) => p.partition === partition)?.isr;
  }

  /** Sends a request to a broker by id (from metadata). */
  async request<K extends ApiKey>(
    brokerId: number,
    apiKey: K,
    body: RequestOf<K>,
    options?: RequestOptions,
  ): Promise<ResponseOf<K>> {
    const connection = await this.connectionTo(brokerId);
    return connection.request(apiKey, body, options);
  }

  /**
   * Sends a request to any reachable broker, in the order of `candidateAddresses` (a connection with
   * requests stuck on it, such as a paused broker's, comes late). A broker that cannot be reached is
   * skipped; for requests that may be asked twice (REPEATABLE_APIS), one that timed out too, and one that has
   * not answered within `hedgeAfterMs` is joined by the next (first-answer.ts): a stopped bootstrap broker
   * costs a second, not a request timeout. Writes go to one broker at a time: asking two could apply them
   * twice.
   */
  requestAny<K extends ApiKey>(
    apiKey: K,
    body: RequestOf<K>,
    options?: RequestOptions,
  ): Promise<ResponseOf<K>> {
    const candidates = this.candidateAddresses();
    const repeatable = REPEATABLE_APIS.has(apiKey);
    const movesOn = (e: StreamBusError): boolean =>
      e.code === 'NETWORK_ERROR' ||
      e.code === 'CONNECTION_CLOSED' ||
      (e.code === 'REQUEST_TIMED_OUT' && repeatable && options?.signal?.aborted !== true);
    const hedgeAfterMs = repeatable
      ? (this.options.hedgeAfterMs ?? CLUSTER_DEFAULTS.hedgeAfterMs)
      : Number.POSITIVE_INFINITY;
    return firstAnswer(
      candidates,
      async (address) => (await this.connectionAt(address)).request(apiKey, body, options),
      { hedgeAfterMs, timers: this.timers, movesOn },
      ({ last }) => {
        if (last === null) {
          return new StreamBusError('BROKER_NOT_AVAILABLE', {
            operation: 'cluster.request',
            message: 'no broker reachable',
          });
        }
        if (candidates.length === 1) return last;
        return new StreamBusError(last.code, {
          operation: last.operation ?? 'cluster.request',
          message: `no broker answered (${candidates.length} tried: ${candidates.join(', ')}); last: ${last.message}`,
          cause: last,
        });
      },
    );
  }

  async connectionTo(brokerId: number): Promise<Connection> {
    const md = this.cached ?? (await this.metadata());
    const broker = md.brokers.find((b) => b.id === brokerId);
    if (!broker) {
      throw new StreamBusError('BROKER_NOT_AVAILABLE', {
        operation: 'cluster.connect',
        message: `broker ${brokerId} is not in the cluster metadata`,
        metadata: { brokerId },
      });
    }
    return this.connectionAt(`${broker.host}:${broker.port}`);
  }

  /** The live connection to an address, or a new one once the backoff after the last failure has passed. */
  async connectionAt(address: string): Promise<Connection> {
    if (this.closed) {
      throw new StreamBusError('CLIENT_CLOSED', {
        operation: 'cluster.connect',
        message: 'client is closed',
      });
    }
    let state = this.addresses.get(address);
    if (!state) {
      state = { connection: null, open: null, failures: 0, nextAttemptAtMs: 0 };
      this.addresses.set(address, state);
    }
    // One closed by this side (a protocol error, a refused frame) is known dead before its close event.
    if (state.open?.closed === true) {
      state.connection = null;
      state.open = null;
    }
    if (state.connection) return state.connection;
    const s = state;
    const attempt = (async () => {
      const waitMs = s.nextAttemptAtMs - this.clock.nowMs();
      if (waitMs > 0) await delay(waitMs, this.timers, this.closing.signal);
      return Connection.connect(this.connectionOptions(address));
    })();
    s.connection = attempt;
    try {
      const connection = await attempt;
      s.failures = 0;
      if (s.connection === attempt) s.open = connection;
      connection.onClose(() => {
        if (s.connection === attempt) s.connection = null;
        if (s.open === connection) s.open = null;
        // A broker that closed on us may have stopped leading what it led (and one closes an acks=0
        // producer's connection to say a write failed): the next use asks where partitions are led now.
        if (!this.closed) this.invalidateMetadata();
      });
      if (this.closed) await connection.close();
      return connection;
    } catch (err) {
      if (s.connection === attempt) s.connection = null;
      const policy = {
        baseMs: this.options.reconnectBackoffMs ?? CLUSTER_DEFAULTS.reconnectBackoffMs,
        maxMs: this.options.reconnectBackoffMaxMs ?? CLUSTER_DEFAULTS.reconnectBackoffMaxMs,
      };
      s.nextAttemptAtMs = this.clock.nowMs() + backoffMs(s.failures, policy, this.random);
      s.failures++;
      throw toStreamBusError(err, 'cluster.connect');
    }
  }

  /**
   * A connection of the caller's own (not shared, not cached; the caller closes it). A consumer group
   * member talks to its coordinator this way: a JoinGroup may wait a whole rebalance, and responses on a
   * connection come back in order, so a shared one would hold other members' heartbeats behind it.
   */
  dedicatedConnection(address: string): Promise<Connection> {
    if (this.closed) {
      return Promise.reject(
        new StreamBusError('CLIENT_CLOSED', {
          operation: 'cluster.connect',
          message: 'client is closed',
        }),
      );
    }
    return Connection.connect(this.connectionOptions(address));
  }

  private connectionOptions(address: string): ConnectionOptions {
    const { host, port } = parseAddress(address);
    const connectionOptions: ConnectionOptions = { host, port, timers: this.timers };
    if (this.options.clientId !== undefined) connectionOptions.clientId = this.options.clientId;
    if (this.options.requestTimeoutMs !== undefined)
      connectionOptions.requestTimeoutMs = this.options.requestTimeoutMs;
    if (this.options.connectTimeoutMs !== undefined)
      connectionOptions.connectTimeoutMs = this.options.connectTimeoutMs;
    if (this.options.maxInFlightRequests !== undefined) {
      connectionOptions.maxInFlightRequests = this.options.maxInFlightRequests;
    }
    if (this.options.tls !== undefined)
      connectionOptions.tls = this.options.tls === true ? {} : this.options.tls;
    return connectionOptions;
  }

  /** Forgets cached metadata so the next use fetches it again (and waits for it). */
  invalidateMetadata(): void {
    this.invalidated = true;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.closing.abort(
      new StreamBusError('CLIENT_CLOSED', { operation: 'cluster.connect', message: 'client is closed' }),
    );
    const closing: Promise<void>[] = [];
    for (const state of this.addresses.values()) {
      if (state.connection) closing.push(state.connection.then((c) => c.close()).catch(() => undefined));
    }
    this.addresses.clear();
    await Promise.all(closing);
  }

  /**
   * Where `requestAny` looks, in order: open connections with nothing in flight; brokers known from
   * metadata and bootstrap addresses (connecting costs less than queueing: answers come back in order, so a
   * request behind a stuck one waits with it); open connections with requests in flight, least loaded first
   * (Kafka's least loaded node); last, addresses still backing off after a failed connect.
   */
  private candidateAddresses(): string[] {
    const now = this.clock.nowMs();
    const idle: string[] = [];
    const busy: { address: string; load: number }[] = [];
    const backingOff: string[] = [];
    for (const [address, s] of this.addresses) {
      const c = s.open;
      if (c !== null && !c.closed) {
        const load = c.inFlightCount + c.queuedCount;
        if (load === 0) idle.push(address);
        else busy.push({ address, load });
      } else if (s.connection === null && s.nextAttemptAtMs > now) {
        backingOff.push(address);
      }
    }
    busy.sort((a, b) => a.load - b.load);
    const last = [...busy.map((b) => b.address), ...backingOff];
    const known = (this.cached?.brokers ?? []).map((b) => `${b.host}:${b.port}`);
    // Rotate idle connections and bootstrap addresses, so one broker (dead, or cut off from the others and
    // answering stale metadata) is not always asked first.
    const turn = this.turn++;
    const others = [...known, ...rotate(this.bootstrap, turn)].filter((a) => !last.includes(a));
    return [...new Set([...rotate(idle, turn), ...others, ...last])];
  }
}

/** `items` starting at index `turn` (modulo its length), wrapping around. */
function rotate<T>(items: readonly T[], turn: number): T[] {
  if (items.length === 0) return [];
  const start = turn % items.length;
  return [...items.slice(start), ...items.slice(0, start)];
}
