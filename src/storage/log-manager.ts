/**
 * The logs of one broker: `<dataDir>/topics.json` (topic list, written atomically), a lock file, and one
 * PartitionLog per topic-partition in `<dataDir>/<topic>-<partition>/`.
 *
 * Crash safety: topics.json is the commit point. createTopic opens the partition folders first (removing any
 * leftovers of an earlier topic with that name) and then commits; deleteTopic commits, then removes folders.
 * A folder not named by topics.json is left alone and reported. Space for rewriting topics.json is held back
 * (catalog-reserve.ts) so that deleting a topic or lowering its retention works on a full disk.
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { StreamBusError } from '../errors/index.js';
import { CatalogReserve, reserveFileOf } from './catalog-reserve.js';
import { logConfigOf, type StorageConfig } from './config.js';
import { DataDirLock, LOCK_FILE } from './data-dir-lock.js';
import type { NamedCleanableLog } from './log-cleaner.js';
import { PartitionLog } from './partition-log.js';
import type { PartitionLogDeps, RetentionResult } from './partition-log-types.js';
import { nodeStorageFs, type StorageFs } from './storage-fs.js';
import {
  alterTopicConfigs,
  checkTopicNameCollision,
  normalizeTopicConfigs,
  resolveLogConfig,
  type TopicConfigs,
  validatePartitionCount,
  validatePartitionGrowth,
  validateTopicName,
} from './topic-config.js';
import { SILENT_LOGGER, type StorageLogger } from './types.js';

export const TOPICS_FILE = 'topics.json';
/** Broker state that shares the data dir with partition logs (the metadata Raft group's log). */
export const METADATA_DIR = '__metadata';
/** Cluster mode: partition replica logs, one folder per replica (broker/replica/). */
export const REPLICAS_DIR = '__replicas';
/** Idempotent producer id blocks handed out by a single-node broker (broker/producer-id-blocks.ts). */
export const PRODUCER_IDS_FILE = 'producer-ids';
/** Per-client-id quota overrides set on a single-node broker (broker/client-quota-store.ts). */
export const CLIENT_QUOTAS_FILE = 'client-quotas.json';

export interface LogManagerDeps extends PartitionLogDeps {
  /** Id for a new data dir's cluster id; defaults to crypto.randomUUID. */
  randomId?: () => string;
}

export interface TopicState {
  name: string;
  partitions: number;
  /** The topic's overrides only (normalised strings); defaults come from the storage config. */
  configs: TopicConfigs;
  createdMs: number;
  /**
   * Partitions' log start floors set by DeleteRecords (advanceLogStart), by partition number; absent when
   * none was set (and in files written before DeleteRecords).
   */
  logStartFloors?: Record<string, number>;
}

export interface PartitionRetention {
  topic: string;
  partition: number;
  result: RetentionResult;
}

interface TopicsFile {
  version: 1;
  clusterId: string;
  topics: TopicState[];
}

function corruptTopicsFile(path: string, reason: string): StreamBusError {
  return new StreamBusError('CORRUPT_LOG', {
    operation: 'storage.open',
    message: `${path} is invalid: ${reason}`,
    metadata: { file: path, reason },
  });
}

function parseTopicsFile(path: string, raw: Buffer): TopicsFile {
  let doc: unknown;
  try {
    doc = JSON.parse(raw.toString('utf8'));
  } catch (err) {
    throw corruptTopicsFile(path, String(err));
  }
  const d = doc as { version?: unknown; clusterId?: unknown; topics?: unknown };
  if (typeof doc !== 'object' || doc === null || d.version !== 1 || typeof d.clusterId !== 'string') {
    throw corruptTopicsFile(path, 'expected { version: 1, clusterId, topics }');
  }
  if (!Array.isArray(d.topics)) throw corruptTopicsFile(path, 'topics is not an array');
  const topics: TopicState[] = d.topics.map((t: unknown) => {
    const x = t as Partial<Record<keyof TopicState, unknown>>;
    if (typeof t !== 'object' || t === null || typeof x.createdMs !== 'number') {
      throw corruptTopicsFile(path, `bad topic entry ${JSON.stringify(t)}`);
    }
    try {
      validateTopicName(x.name);
      validatePartitionCount(x.partitions);
      const configs = normalizeTopicConfigs((x.configs ?? {}) as Record<string, unknown>);
      const floors = logStartFloorsOf(x.logStartFloors, x.partitions);
      return {
        name: x.name,
        partitions: x.partitions,
        configs,
        createdMs: x.createdMs,
        ...(floors === undefined ? {} : { logStartFloors: floors }),
      };
    } catch (err) {
      throw corruptTopicsFile(path, (err as Error).message);
    }
  });
  return { version: 1, clusterId: d.clusterId, topics };
}

function logStartFloorsOf(v: unknown, partitions: number): Record<string, number> | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('logStartFloors is not a map');
  const floors: Record<string, number> = {};
  for (const [p, offset] of Object.entries(v)) {
    const n = Number(p);
    if (!Number.isInteger(n) || n < 0 || n >= partitions || String(n) !== p)
      throw new Error(`logStartFloors names no partition: ${p}`);
    if (typeof offset !== 'number' || !Number.isSafeInteger(offset) || offset < 0)
      throw new Error(`logStartFloors of partition ${p} is not an offset`);
    floors[p] = offset;
  }
  return floors;
}

function serializeTopicsFile(file: TopicsFile): Buffer {
  return Buffer.from(JSON.stringify(file, null, 2));
}

/**
 * Creates (if need be) and locks the data dir. A path that cannot be a folder (a file, or under one) or is
 * not writable is the configuration's fault: INVALID_CONFIG naming the key (broker.data_dir), not a bare
 * errno. A data dir in use by another broker stays STORAGE_ERROR.
 */
async function lockDataDir(fs: StorageFs, dataDir: string): Promise<DataDirLock> {
  try {
    await fs.mkdirp(dataDir);
    return await DataDirLock.acquire(fs, dataDir);
  } catch (err) {
    if (err instanceof StreamBusError) throw err;
    throw new StreamBusError('INVALID_CONFIG', {
      operation: 'storage.open',
      cause: err,
      message: `broker.data_dir ${dataDir} cannot be used as the data dir: ${(err as Error).message}`,
      metadata: { key: 'broker.data_dir', dataDir },
    });
  }
}

interface OpenTopic {
  state: TopicState;
  logs: PartitionLog[];
}

export class LogManager {
  private readonly topics = new Map<string, OpenTopic>();
  private mutex: Promise<void> = Promise.resolve();
  private closed = false;

  private constructor(
    readonly config: StorageConfig,
    readonly clusterId: string,
    private readonly fs: StorageFs,
    private readonly deps: LogManagerDeps,
    private readonly logger: StorageLogger,
    private readonly lock: DataDirLock,
    private readonly reserve: CatalogReserve,
  ) {}

  /** Locks the data dir and opens (recovering) every partition of every topic. */
  static async open(config: StorageConfig, deps: LogManagerDeps): Promise<LogManager> {
    const fs = deps.fs ?? nodeStorageFs;
    const logger = deps.logger ?? SILENT_LOGGER;
    const lock = await lockDataDir(fs, config.dataDir);
    try {
      const path = join(config.dataDir, TOPICS_FILE);
      const raw = await fs.readFile(path);
      const reserve = new CatalogReserve(fs, config.dataDir, logger, TOPICS_FILE);
      let file: TopicsFile;
      if (raw === null) {
        file = { version: 1, clusterId: (deps.randomId ?? randomUUID)(), topics: [] };
        const bytes = serializeTopicsFile(file);
        await reserve.write(bytes.length, () => fs.writeFileAtomic(path, bytes));
      } else {
        file = parseTopicsFile(path, raw);
        await reserve.ensure(raw.length);
      }
      const manager = new LogManager(config, file.clusterId, fs, deps, logger, lock, reserve);
      try {
        for (const state of file.topics) {
          manager.topics.set(state.name, { state, logs: await manager.openPartitions(state) });
        }
      } catch (err) {
        await manager.closeLogs();
        throw err;
      }
      await manager.reportStrayFolders();
      logger.info({ dataDir: config.dataDir, topics: file.topics.length }, 'storage opened');
      return manager;
    } catch (err) {
      await lock.release();
      throw err;
    }
  }

  get dataDir(): string {
    return this.config.dataDir;
  }

  private partitionDir(topic: string, partition: number): string {
    return join(this.config.dataDir, `${topic}-${partition}`);
  }

  private async openPartitions(state: TopicState): Promise<PartitionLog[]> {
    const config = resolveLogConfig(logConfigOf(this.config), state.configs);
    const logs: PartitionLog[] = [];
    try {
      for (let p = 0; p < state.partitions; p++) {
        const log = await PartitionLog.open(this.partitionDir(state.name, p), config, this.deps);
        logs.push(log);
        const floor = state.logStartFloors?.[String(p)];
        if (floor !== undefined) await log.advanceLogStart(floor);
      }
    } catch (err) {
      await Promise.allSettled(logs.map((l) => l.close()));
      throw err;
    }
    return logs;
  }

  private async reportStrayFolders(): Promise<void> {
    const expected = new Set<string>([
      TOPICS_FILE,
      LOCK_FILE,
      `${TOPICS_FILE}.tmp`,
      reserveFileOf(TOPICS_FILE),
      METADATA_DIR,
      REPLICAS_DIR,
      PRODUCER_IDS_FILE,
      `${PRODUCER_IDS_FILE}.tmp`,
      CLIENT_QUOTAS_FILE,
      `${CLIENT_QUOTAS_FILE}.tmp`,
      reserveFileOf(CLIENT_QUOTAS_FILE),
    ]);
    for (const { state } of this.topics.values()) {
      for (let p = 0; p < state.partitions; p++) expected.add(`${state.name}-${p}`);
    }
    const stray = (await this.fs.readdir(this.config.dataDir)).filter((n) => !expected.has(n));
    if (stray.length > 0)
      this.logger.warn({ dataDir: this.config.dataDir, stray }, 'data dir holds unknown entries');
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.mutex.then(fn);
    this.mutex = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  private async commit(): Promise<void> {
    const bytes = serializeTopicsFile({
      version: 1,
      clusterId: this.clusterId,
      topics: [...this.topics.values()].map((t) => t.state),
    });
    const path = join(this.config.dataDir, TOPICS_FILE);
    await this.reserve.write(bytes.length, () => this.fs.writeFileAtomic(path, bytes));
  }

  /** An open topic; UNKNOWN_TOPIC_OR_PARTITION when there is none by that name. */
  private existing(name: string, operation: string): OpenTopic {
    const topic = this.topics.get(name);
    if (topic !== undefined) return topic;
    throw new StreamBusError('UNKNOWN_TOPIC_OR_PARTITION', {
      operation,
      message: `unknown topic ${name}`,
      metadata: { topic: name },
    });
  }

  private assertOpen(operation: string): void {
    if (this.closed) throw new StreamBusError('LOG_CLOSED', { operation, message: 'storage is closed' });
  }

  /** Checks a topic spec without creating anything; returns the normalised overrides. */
  validateTopic(name: string, partitions: number, configs: Record<string, unknown> = {}): TopicConfigs {
    validateTopicName(name);
    validatePartitionCount(partitions);
    const normalized = normalizeTopicConfigs(configs);
    if (this.topics.has(name)) {
      throw new StreamBusError('TOPIC_ALREADY_EXISTS', {
        operation: 'topic.create',
        message: `topic ${name} already exists`,
        metadata: { topic: name },
      });
    }
    checkTopicNameCollision(name, this.topics.keys(), 'topic.create');
    return normalized;
  }

  /** Creates a topic with empty partitions. TOPIC_ALREADY_EXISTS, INVALID_TOPIC_NAME, INVALID_PARTITIONS, INVALID_TOPIC_CONFIG. */
  createTopic(name: string, partitions: number, configs: Record<string, unknown> = {}): Promise<TopicState> {
    return this.exclusive(async () => {
      this.assertOpen('topic.create');
      const normalized = this.validateTopic(name, partitions, configs);
      const state: TopicState = { name, partitions, configs: normalized, createdMs: this.deps.clock.nowMs() };
      for (let p = 0; p < partitions; p++) await this.fs.rmrf(this.partitionDir(name, p));
      const logs = await this.openPartitions(state);
      this.topics.set(name, { state, logs });
      try {
        await this.commit();
      } catch (err) {
        this.topics.delete(name);
        await Promise.allSettled(logs.map((l) => l.delete()));
        throw err;
      }
      this.logger.info({ topic: name, partitions }, 'topic created');
      return state;
    });
  }

  /**
   * Grows a topic to `count` partitions (new ones empty), committed to topics.json once their folders are
   * open; with `validateOnly` it only checks. UNKNOWN_TOPIC_OR_PARTITION, INVALID_PARTITIONS.
   */
  addPartitions(name: string, count: number, validateOnly = false): Promise<TopicState> {
    return this.exclusive(async () => {
      this.assertOpen('topic.create_partitions');
      const topic = this.existing(name, 'topic.create_partitions');
      const previous = topic.state;
      validatePartitionGrowth(name, previous.partitions, count);
      if (validateOnly) return { ...previous, partitions: count };
      // A folder left by a topic of the same name deleted earlier holds none of this topic's data.
      for (let p = previous.partitions; p < count; p++) await this.fs.rmrf(this.partitionDir(name, p));
      const config = resolveLogConfig(logConfigOf(this.config), previous.configs);
      const added: PartitionLog[] = [];
      try {
        for (let p = previous.partitions; p < count; p++) {
          added.push(await PartitionLog.open(this.partitionDir(name, p), config, this.deps));
        }
        topic.state = { ...previous, partitions: count };
        topic.logs = [...topic.logs, ...added];
        await this.commit();
      } catch (err) {
        topic.state = previous;
        topic.logs = topic.logs.slice(0, previous.partitions);
        await Promise.allSettled(added.map((l) => l.delete()));
        throw err;
      }
      this.logger.info({ topic: name, partitions: count, before: previous.partitions }, 'partitions added');
      return topic.state;
    });
  }

  /** Deletes a topic and its data. UNKNOWN_TOPIC_OR_PARTITION when missing. */
  deleteTopic(name: string): Promise<void> {
    return this.exclusive(async () => {
      this.assertOpen('topic.delete');
      const topic = this.existing(name, 'topic.delete');
      this.topics.delete(name);
      try {
        await this.commit();
      } catch (err) {
        this.topics.set(name, topic);
        throw err;
      }
      const results = await Promise.allSettled(topic.logs.map((l) => l.delete()));
      for (const r of results) {
        if (r.status === 'rejected')
          this.logger.error({ topic: name, error: String(r.reason) }, 'topic folder removal failed');
      }
      await this.reserve.ensure();
      this.logger.info({ topic: name }, 'topic deleted');
    });
  }

  /**
   * Changes a topic's overrides (incremental: `set` and `delete`), commits them to topics.json and applies
   * them to its open partition logs (PartitionLog.reconfigure). With `validateOnly` it only checks.
   * UNKNOWN_TOPIC_OR_PARTITION, INVALID_TOPIC_CONFIG.
   */
  alterTopicConfigs(
    name: string,
    change: { set: Record<string, unknown>; delete: readonly string[] },
    validateOnly = false,
  ): Promise<TopicState> {
    return this.exclusive(async () => {
      this.assertOpen('config.alter');
      const topic = this.existing(name, 'config.alter');
      const { configs } = alterTopicConfigs(topic.state.configs, change, 'config.alter');
      if (validateOnly) return { ...topic.state, configs };
      const previous = topic.state;
      topic.state = { ...previous, configs };
      try {
        await this.commit();
      } catch (err) {
        topic.state = previous;
        throw err;
      }
      const resolved = resolveLogConfig(logConfigOf(this.config), configs);
      for (const log of topic.logs) log.reconfigure(resolved);
      this.logger.info({ topic: name, configs }, 'topic configs altered');
      return topic.state;
    });
  }

  /**
   * DeleteRecords: records the partition's log start floor in topics.json (the commit point: a restart
   * applies it again), then advances the log to it. Resolves with the new log start. The caller checked
   * `offset` against the high watermark. UNKNOWN_TOPIC_OR_PARTITION.
   */
  advanceLogStart(name: string, partition: number, offset: number): Promise<number> {
    return this.exclusive(async () => {
      this.assertOpen('delete_records');
      const topic = this.existing(name, 'delete_records');
      const log = this.partition(name, partition);
      const previous = topic.state;
      const key = String(partition);
      if (offset > (previous.logStartFloors?.[key] ?? 0)) {
        topic.state = { ...previous, logStartFloors: { ...previous.logStartFloors, [key]: offset } };
        try {
          await this.commit();
        } catch (err) {
          topic.state = previous;
          throw err;
        }
      }
      const logStart = await log.advanceLogStart(offset);
      this.logger.info({ topic: name, partition, logStartOffset: logStart }, 'records deleted');
      return logStart;
    });
  }

  /** All topics, sorted by name. */
  listTopics(): TopicState[] {
    return [...this.topics.values()]
      .map((t) => t.state)
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  topic(name: string): TopicState | undefined {
    return this.topics.get(name)?.state;
  }

  /** The log of one partition. Throws UNKNOWN_TOPIC_OR_PARTITION. */
  partition(topic: string, partition: number): PartitionLog {
    const log = this.topics.get(topic)?.logs[partition];
    if (log === undefined) {
      throw new StreamBusError('UNKNOWN_TOPIC_OR_PARTITION', {
        operation: 'storage.partition',
        message: `unknown topic or partition ${topic}-${partition}`,
        metadata: { topic, partition },
      });
    }
    return log;
  }

  /** Every partition log of a topic (empty when the topic does not exist). */
  partitions(topic: string): readonly PartitionLog[] {
    return this.topics.get(topic)?.logs ?? [];
  }

  /** Applies retention to every partition; returns the partitions where segments were deleted. */
  async applyRetention(nowMs: number): Promise<PartitionRetention[]> {
    const out: PartitionRetention[] = [];
    for (const { state, logs } of [...this.topics.values()]) {
      for (let p = 0; p < logs.length; p++) {
        const result = await logs[p]!.applyRetention(nowMs);
        if (result.deleted.length > 0) out.push({ topic: state.name, partition: p, result });
      }
    }
    if (out.length > 0) await this.exclusive(() => this.reserve.ensure());
    return out;
  }

  /** Every partition log, for the log cleaner (which skips logs whose policy does not compact). */
  cleanableLogs(): NamedCleanableLog[] {
    return [...this.topics.values()].flatMap(({ state, logs }) =>
      logs.map((log, partition) => ({ topic: state.name, partition, log })),
    );
  }

  async flushAll(): Promise<void> {
    await Promise.all([...this.topics.values()].flatMap((t) => t.logs.map((l) => l.flush())));
  }

  /** Free and total bytes of the file system holding the data dir. */
  diskFree(): Promise<{ freeBytes: number; totalBytes: number }> {
    return this.fs.statfs(this.config.dataDir);
  }

  private async closeLogs(): Promise<void> {
    const results = await Promise.allSettled(
      [...this.topics.values()].flatMap((t) => t.logs.map((l) => l.close())),
    );
    for (const r of results) {
      if (r.status === 'rejected')
        this.logger.error({ error: String(r.reason) }, 'closing a partition log failed');
    }
  }

  /** Flushes and closes every log and releases the data-dir lock. Idempotent. */
  close(): Promise<void> {
    return this.exclusive(async () => {
      if (this.closed) return;
      this.closed = true;
      await this.closeLogs();
      await this.lock.release();
    });
  }
}
