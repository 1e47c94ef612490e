/**
 * The metadata image and its pure, deterministic transition function. Every replica applies the same
 * commands in the same order and must end in the same state, so apply reads nothing but its arguments
 * (no clock, no randomness) and checks every precondition before it mutates anything: a rejected command
 * leaves the state, version included, exactly as it was.
 */
import type { ErrorCode } from '../errors/index.js';
import {
  type ClientQuotaOverrides,
  checkClientQuotaChange,
  mergeClientQuotas,
  NO_CLIENT_QUOTA_OVERRIDES,
  sameClientQuotas,
  usesQuotaExtensions,
} from './client-quota-rules.js';
import type { MetadataCommand } from './commands.js';
import { BASELINE_FEATURE_LEVEL, FEATURE } from './feature-levels.js';
import { reassignedPartitions, sameMembers } from './reassignment.js';
import {
  checkConfigKeys,
  checkMembers,
  freshPartition,
  mergeConfig,
  sortedRecord,
  validTopicName,
} from './rules.js';
import {
  type ApplyResult,
  type BrokerId,
  type BrokerRecord,
  type InSyncSetResult,
  type MoveRecord,
  moveKey,
  NO_BROKER,
  type PartitionRecord,
  type TopicRecord,
} from './types.js';

export { effectiveTopicConfig, validTopicName } from './rules.js';

/** How many request ids (with their results) are remembered to answer retried proposals exactly once. */
export const RECENT_REQUESTS_MAX = 4096;

/** The largest block one allocateProducerIds may reserve (brokers ask for 1000 at a time). */
export const PRODUCER_ID_BLOCK_MAX = 1_000_000;

/** Producer ids start at 1: -1 means "no producer id" on the wire, and 0 is kept out of use. */
export const FIRST_PRODUCER_ID = 1;

/** A point-in-time image: the maps are copies and the records immutable, so it never changes later. */
export interface MetadataView {
  readonly version: number;
  readonly brokers: ReadonlyMap<BrokerId, BrokerRecord>;
  readonly topics: ReadonlyMap<string, TopicRecord>;
  readonly moves: ReadonlyMap<string, MoveRecord>;
  readonly clusterConfig: Readonly<Record<string, string>>;
  /** The cluster's finalized feature level (feature-levels.ts): what every broker may use. */
  readonly featureLevel: number;
  /** The cluster's id once recorded (setClusterId); null before (each broker then answers its own). */
  readonly clusterId: string | null;
  /** Byte-rate quota overrides per client id (alterClientQuotas); the same object until they change. */
  readonly clientQuotas: ClientQuotaOverrides;
}

const CLUSTER_ID_LENGTH_MAX = 128;

export class MetadataState {
  version = 0;
  brokers = new Map<BrokerId, BrokerRecord>();
  topics = new Map<string, TopicRecord>();
  moves = new Map<string, MoveRecord>();
  clusterConfig: Readonly<Record<string, string>> = {};
  /** The first producer id never handed out: blocks are reserved from here and never given twice. */
  nextProducerId = FIRST_PRODUCER_ID;
  /** The finalized cluster feature level; only ever raised (finalizeFeatureLevel). */
  featureLevel = BASELINE_FEATURE_LEVEL;
  /** Recorded once (setClusterId). */
  clusterId: string | null = null;
  /** Replaced (never mutated) by alterClientQuotas, so views share it until it changes. */
  clientQuotas: ClientQuotaOverrides = NO_CLIENT_QUOTA_OVERRIDES;
  /** requestId -> result, oldest first (insertion order is the eviction order, and is in the snapshot). */
  recentRequests = new Map<string, ApplyResult>();

  view(): MetadataView {
    return {
      version: this.version,
      brokers: new Map(this.brokers),
      topics: new Map(this.topics),
      moves: new Map(this.moves),
      clusterConfig: this.clusterConfig,
      featureLevel: this.featureLevel,
      clusterId: this.clusterId,
      clientQuotas: this.clientQuotas,
    };
  }

  partitionCount(): number {
    let n = 0;
    for (const t of this.topics.values()) n += t.partitions.length;
    return n;
  }

  /** Applies one command; a retried request (same id) gets its first result again and changes nothing. */
  apply(command: MetadataCommand, requestId: string | null = null): ApplyResult {
    if (requestId !== null) {
      const seen = this.recentRequests.get(requestId);
      if (seen !== undefined) return seen;
    }
    const result = this.transition(command);
    if (requestId !== null) {
      this.recentRequests.set(requestId, result);
      if (this.recentRequests.size > RECENT_REQUESTS_MAX) {
        const oldest = this.recentRequests.keys().next().value as string;
        this.recentRequests.delete(oldest);
      }
    }
    return result;
  }

  private transition(c: MetadataCommand): ApplyResult {
    switch (c.type) {
      case 'registerBroker': {
        const featureLevel = c.featureLevel ?? BASELINE_FEATURE_LEVEL;
        if (featureLevel < this.featureLevel) {
          return this.fail(
            'UNSUPPORTED_VERSION',
            `broker ${c.brokerId} runs a build that supports cluster feature levels up to ${featureLevel}, but the cluster has finalized level ${this.featureLevel}: start it on a build that supports level ${this.featureLevel} (feature levels are never lowered)`,
          );
        }
        const prev = this.brokers.get(c.brokerId);
        const v = this.bump();
        // A re-registration is a broker restarting: new incarnation, back to starting until the
        // coordinator sees it healthy.
        this.brokers.set(c.brokerId, {
          id: c.brokerId,
          clientAddress: c.clientAddress,
          peerAddress: c.peerAddress,
          rack: c.rack,
          state: 'starting',
          lastHeartbeatMs: Math.max(c.atMs, prev?.lastHeartbeatMs ?? 0),
          capacityHint: c.capacityHint,
          epoch: (prev?.epoch ?? 0) + 1,
          registeredVersion: v,
          featureLevel,
        });
        return this.ok();
      }
      case 'updateBroker': {
        const prev = this.brokers.get(c.brokerId);
        if (prev === undefined) return this.fail('UNKNOWN_BROKER', `broker ${c.brokerId} is not registered`);
        if (prev.state === 'decommissioned' && c.state !== undefined && c.state !== 'decommissioned') {
          return this.fail(
            'METADATA_CONFLICT',
            `broker ${c.brokerId} is decommissioned; it must register again`,
          );
        }
        this.bump();
        this.brokers.set(c.brokerId, {
          ...prev,
          ...(c.state === undefined ? {} : { state: c.state }),
          ...(c.clientAddress === undefined ? {} : { clientAddress: c.clientAddress }),
          ...(c.peerAddress === undefined ? {} : { peerAddress: c.peerAddress }),
          ...(c.rack === undefined ? {} : { rack: c.rack }),
          ...(c.capacityHint === undefined ? {} : { capacityHint: c.capacityHint }),
        });
        return this.ok();
      }
      case 'heartbeat': {
        const unknown: BrokerId[] = [];
        const known = c.beats.filter((b) => {
          if (this.brokers.has(b.brokerId)) return true;
          unknown.push(b.brokerId);
          return false;
        });
        if (known.length === 0) {
          return this.fail('UNKNOWN_BROKER', `no registered broker in heartbeat batch: ${unknown.join(',')}`);
        }
        this.bump();
        for (const b of known) {
          const prev = this.brokers.get(b.brokerId) as BrokerRecord;
          // A level said by an earlier incarnation (a beat applied after the broker re-registered, perhaps
          // on an older build) is not this one's.
          const sameIncarnation =
            b.registeredVersion === undefined || b.registeredVersion === prev.registeredVersion;
          // Never backwards: a new coordinator whose clock lags must not make a broker look older.
          this.brokers.set(b.brokerId, {
            ...prev,
            lastHeartbeatMs: Math.max(prev.lastHeartbeatMs, b.atMs),
            featureLevel: sameIncarnation ? (b.featureLevel ?? prev.featureLevel) : prev.featureLevel,
          });
        }
        return unknown.length === 0 ? this.ok() : { ...this.ok(), unknownBrokerIds: unknown };
      }
      case 'unregisterBroker': {
        if (!this.brokers.has(c.brokerId)) {
          return this.fail('UNKNOWN_BROKER', `broker ${c.brokerId} is not registered`);
        }
        const hosted = this.replicasOn(c.brokerId);
        if (hosted > 0) {
          return this.fail('METADATA_CONFLICT', `broker ${c.brokerId} still hosts ${hosted} replicas`);
        }
        this.bump();
        this.brokers.delete(c.brokerId);
        return this.ok();
      }
      case 'createTopic': {
        if (!validTopicName(c.name)) return this.fail('INVALID_TOPIC_NAME', `invalid topic name '${c.name}'`);
        if (this.topics.has(c.name))
          return this.fail('TOPIC_ALREADY_EXISTS', `topic ${c.name} already exists`);
        if (c.assignment.length === 0)
          return this.fail('INVALID_PARTITIONS', 'a topic needs at least one partition');
        if (c.replicationFactor < 1)
          return this.fail('INVALID_REPLICATION_FACTOR', 'replication factor must be >= 1');
        const bad = this.checkAssignment(c.assignment, c.replicationFactor);
        if (bad !== undefined) return bad;
        const badConfig = checkConfigKeys(Object.keys(c.configs));
        if (badConfig !== undefined) return this.fail('INVALID_TOPIC_CONFIG', badConfig);
        const v = this.bump();
        this.topics.set(c.name, {
          name: c.name,
          partitions: c.assignment.map((replicas, i) => freshPartition(i, replicas, this.pins(c.pinned))),
          replicationFactor: c.replicationFactor,
          configs: sortedRecord(c.configs),
          internal: c.internal,
          createdVersion: v,
        });
        return this.ok();
      }
      case 'deleteTopic': {
        if (!this.topics.has(c.name)) return this.unknownTopic(c.name);
        this.bump();
        this.topics.delete(c.name);
        for (const [k, m] of this.moves) if (m.topic === c.name) this.moves.delete(k);
        return this.ok();
      }
      case 'addPartitions': {
        const t = this.topics.get(c.name);
        if (t === undefined) return this.unknownTopic(c.name);
        if (c.expectedPartitions !== undefined && c.expectedPartitions !== t.partitions.length) {
          return this.fail(
            'METADATA_CONFLICT',
            `topic ${c.name} has ${t.partitions.length} partitions, not the ${c.expectedPartitions} this change was planned for`,
          );
        }
        if (c.assignment.length === 0) return this.fail('INVALID_PARTITIONS', 'no partitions to add');
        const bad = this.checkAssignment(c.assignment, t.replicationFactor);
        if (bad !== undefined) return bad;
        this.bump();
        const pinned = this.pins(c.pinned);
        const added = c.assignment.map((replicas, i) =>
          freshPartition(t.partitions.length + i, replicas, pinned),
        );
        this.topics.set(c.name, { ...t, partitions: [...t.partitions, ...added] });
        return this.ok();
      }
      case 'updateReplicaSet': {
        const found = this.partitionFor(c.topic, c.partition, c.expectedEpoch);
        if (!('record' in found)) return found;
        const bad = this.checkReplicas(c.replicas) ?? checkMembers(c.isr, c.replicas, c.leader);
        if (bad !== undefined) return typeof bad === 'string' ? this.fail('METADATA_CONFLICT', bad) : bad;
        // A pinned partition stays pinned: the new list (a replica moved off a draining or decommissioned
        // broker, at the operator's request) is the one the rebalancer keeps from now on. An operator's
        // target not reached yet stays the target; reached (the same brokers), it is done.
        const target = found.record.targetReplicas;
        return this.replacePartition(found.topic, {
          partition: c.partition,
          replicas: [...c.replicas],
          isr: [...c.isr],
          leader: c.leader,
          leaderEpoch: found.record.leaderEpoch + 1,
          ...(found.record.pinned === true ? { pinned: true } : {}),
          ...(target === undefined || sameMembers(target, c.replicas) ? {} : { targetReplicas: target }),
          ...(found.record.logStartFloor === undefined ? {} : { logStartFloor: found.record.logStartFloor }),
        });
      }
      case 'updateLeader': {
        const t = this.topics.get(c.topic);
        const change = leaderChange(t?.partitions[c.partition], c);
        if ('code' in change) return this.fail(change.code, change.message);
        return this.replacePartition(t as TopicRecord, change);
      }
      case 'updateInSyncSets': {
        // Each item as an updateLeader of its own, against the state the items before it left (a partition
        // listed twice: the second is a stale epoch). A topic's partition list is copied once per command,
        // not once per item, and the version moves once.
        const changed = new Map<string, PartitionRecord[]>();
        const inSyncSets = c.items.map((item): InSyncSetResult => {
          const partitions = changed.get(item.topic) ?? this.topics.get(item.topic)?.partitions;
          const change = leaderChange(partitions?.[item.partition], item);
          if ('code' in change) return { ok: false, code: change.code };
          const copy = changed.get(item.topic) ?? [...(partitions as readonly PartitionRecord[])];
          copy[item.partition] = change;
          changed.set(item.topic, copy);
          return { ok: true, leaderEpoch: change.leaderEpoch };
        });
        if (changed.size > 0) this.bump();
        for (const [name, partitions] of changed) {
          this.topics.set(name, { ...(this.topics.get(name) as TopicRecord), partitions });
        }
        return { ...this.ok(), inSyncSets };
      }
      case 'alterTopicConfig': {
        const t = this.topics.get(c.name);
        if (t === undefined) return this.unknownTopic(c.name);
        const badConfig = checkConfigKeys(Object.keys(c.set));
        if (badConfig !== undefined) return this.fail('INVALID_TOPIC_CONFIG', badConfig);
        this.bump();
        this.topics.set(c.name, { ...t, configs: mergeConfig(t.configs, c.set, c.delete) });
        return this.ok();
      }
      case 'recordMove': {
        const t = this.topics.get(c.topic);
        const p = t?.partitions[c.partition];
        if (p === undefined) return this.unknownTopic(`${c.topic}/${c.partition}`);
        // `to` NO_BROKER: a move that only removes `from` (a reassignment to fewer replicas).
        if (c.to !== NO_BROKER && !this.brokers.has(c.to))
          return this.fail('UNKNOWN_BROKER', `broker ${c.to} is not registered`);
        if (c.from === c.to) return this.fail('METADATA_CONFLICT', 'a move needs two different brokers');
        const key = moveKey(c.topic, c.partition, c.from, c.to);
        const prev = this.moves.get(key);
        const v = this.bump();
        this.moves.set(key, {
          topic: c.topic,
          partition: c.partition,
          from: c.from,
          to: c.to,
          state: c.state,
          recordedVersion: prev?.recordedVersion ?? v,
        });
        return this.ok();
      }
      case 'completeMove': {
        const key = moveKey(c.topic, c.partition, c.from, c.to);
        if (!this.moves.has(key)) {
          return this.fail(
            'METADATA_CONFLICT',
            `no move of ${c.topic}/${c.partition} from ${c.from} to ${c.to}`,
          );
        }
        this.bump();
        this.moves.delete(key);
        return this.ok();
      }
      case 'setClusterConfig': {
        const badConfig = checkConfigKeys(Object.keys(c.set));
        if (badConfig !== undefined) return this.fail('INVALID_CONFIG', badConfig);
        this.bump();
        this.clusterConfig = mergeConfig(this.clusterConfig, c.set, c.delete);
        return this.ok();
      }
      case 'finalizeFeatureLevel': {
        if (c.level <= this.featureLevel) {
          return this.fail(
            'METADATA_CONFLICT',
            `the cluster feature level is ${this.featureLevel} already; it is never lowered`,
          );
        }
        const seen = new Map(c.brokers.map((b) => [b.brokerId, b.epoch]));
        // Every broker in the registry, decommissioned ones too: one stays a metadata learner and a partition
        // replica until it is unregistered, so an older build there must still hold the level back.
        const registered = [...this.brokers.values()];
        const changed =
          seen.size !== c.brokers.length ||
          registered.length !== seen.size ||
          registered.some((b) => seen.get(b.id) !== b.epoch);
        if (changed) {
          return this.fail(
            'METADATA_CONFLICT',
            'the broker registry changed since the feature level was checked against it',
          );
        }
        this.bump();
        this.featureLevel = c.level;
        return this.ok();
      }
      case 'setClusterId': {
        if (this.clusterId === c.clusterId) return this.ok();
        if (this.clusterId !== null) {
          return this.fail(
            'METADATA_CONFLICT',
            `the cluster id is ${this.clusterId} already; it never changes`,
          );
        }
        if (c.clusterId.length === 0 || c.clusterId.length > CLUSTER_ID_LENGTH_MAX) {
          return this.fail('INVALID_REQUEST', `a cluster id is 1..${CLUSTER_ID_LENGTH_MAX} characters`);
        }
        this.bump();
        this.clusterId = c.clusterId;
        return this.ok();
      }
      case 'alterPartitionAssignments': {
        if (this.featureLevel < FEATURE.partitionReassignment) {
          return this.fail(
            'FEATURE_NOT_FINALIZED',
            `reassigning and unpinning partitions needs cluster feature level ${FEATURE.partitionReassignment}; the cluster is at ${this.featureLevel}`,
          );
        }
        const t = this.topics.get(c.topic);
        if (t === undefined) return this.unknownTopic(c.topic);
        const partitions = reassignedPartitions(
          t,
          this.brokers,
          this.clusterConfig,
          this.featureLevel,
          c.partitions,
        );
        if ('code' in partitions) return this.fail(partitions.code, partitions.message);
        if (partitions.every((p, i) => p === t.partitions[i])) return this.ok();
        this.bump();
        this.topics.set(t.name, { ...t, partitions });
        return this.ok();
      }
      case 'alterClientQuotas': {
        if (this.featureLevel < FEATURE.clientQuotas) {
          return this.fail(
            'FEATURE_NOT_FINALIZED',
            `client quota overrides need cluster feature level ${FEATURE.clientQuotas}; the cluster is at ${this.featureLevel}`,
          );
        }
        if (this.featureLevel < FEATURE.clientQuotaExtensions && usesQuotaExtensions(c.set)) {
          return this.fail(
            'FEATURE_NOT_FINALIZED',
            `an unlimited (-1) or request_percentage quota override needs cluster feature level ${FEATURE.clientQuotaExtensions}; the cluster is at ${this.featureLevel}`,
          );
        }
        const bad = checkClientQuotaChange(c.clientId, c.set, c.delete);
        if (bad !== undefined) return this.fail('INVALID_CONFIG', bad);
        const next = mergeClientQuotas(this.clientQuotas, c.clientId, c.set, c.delete);
        if (sameClientQuotas(next, this.clientQuotas)) return this.ok();
        this.bump();
        this.clientQuotas = next;
        return this.ok();
      }
      case 'advanceLogStart': {
        if (this.featureLevel < FEATURE.deleteRecords) {
          return this.fail(
            'FEATURE_NOT_FINALIZED',
            `deleting records needs cluster feature level ${FEATURE.deleteRecords}; the cluster is at ${this.featureLevel}`,
          );
        }
        const t = this.topics.get(c.topic);
        const record = t?.createdVersion === c.createdVersion ? t.partitions[c.partition] : undefined;
        if (t === undefined || record === undefined) return this.unknownTopic(`${c.topic}/${c.partition}`);
        if (c.offset <= (record.logStartFloor ?? 0)) return this.ok();
        this.bump();
        const partitions = [...t.partitions];
        partitions[c.partition] = { ...record, logStartFloor: c.offset };
        this.topics.set(t.name, { ...t, partitions });
        return this.ok();
      }
      case 'allocateProducerIds': {
        if (!Number.isSafeInteger(c.count) || c.count < 1 || c.count > PRODUCER_ID_BLOCK_MAX) {
          return this.fail('INVALID_REQUEST', `producer id block size must be 1..${PRODUCER_ID_BLOCK_MAX}`);
        }
        if (this.nextProducerId + c.count - 1 > Number.MAX_SAFE_INTEGER) {
          return this.fail('METADATA_CONFLICT', 'producer ids are exhausted');
        }
        const first = this.nextProducerId;
        this.bump();
        this.nextProducerId = first + c.count;
        return { ...this.ok(), firstProducerId: first };
      }
    }
  }

  /**
   * Whether a createTopic / addPartitions asking for pins records them: only from the feature level that
   * includes them, so a replica of an older build (which drops the field) ends in the same image.
   */
  private pins(asked: boolean | undefined): boolean {
    return asked === true && this.featureLevel >= FEATURE.pinnedAssignments;
  }

  private bump(): number {
    this.version += 1;
    return this.version;
  }

  private ok(): ApplyResult & { ok: true } {
    return { ok: true, version: this.version };
  }

  private fail(code: ErrorCode, message: string): ApplyResult {
    return { ok: false, code, message, version: this.version };
  }

  private unknownTopic(what: string): ApplyResult {
    return this.fail('UNKNOWN_TOPIC_OR_PARTITION', `unknown topic or partition ${what}`);
  }

  private replicasOn(id: BrokerId): number {
    let n = 0;
    for (const t of this.topics.values()) for (const p of t.partitions) if (p.replicas.includes(id)) n++;
    return n;
  }

  private checkReplicas(replicas: readonly BrokerId[]): ApplyResult | undefined {
    if (replicas.length === 0) return this.fail('INVALID_REPLICATION_FACTOR', 'a partition needs a replica');
    if (new Set(replicas).size !== replicas.length) {
      return this.fail(
        'INVALID_REPLICATION_FACTOR',
        `replicas of one partition must be distinct: ${replicas}`,
      );
    }
    const unknown = replicas.filter((id) => !this.brokers.has(id));
    if (unknown.length > 0)
      return this.fail('UNKNOWN_BROKER', `brokers not registered: ${unknown.join(',')}`);
    return undefined;
  }

  private checkAssignment(
    assignment: readonly (readonly BrokerId[])[],
    replicationFactor: number,
  ): ApplyResult | undefined {
    for (const replicas of assignment) {
      if (replicas.length !== replicationFactor) {
        return this.fail(
          'INVALID_REPLICATION_FACTOR',
          `assignment ${replicas} does not have replication factor ${replicationFactor}`,
        );
      }
      const bad = this.checkReplicas(replicas);
      if (bad !== undefined) return bad;
    }
    return undefined;
  }

  private partitionFor(
    topic: string,
    partition: number,
    expectedEpoch: number,
  ): { topic: TopicRecord; record: PartitionRecord } | ApplyResult {
    const t = this.topics.get(topic);
    const record = t?.partitions[partition];
    if (t === undefined || record === undefined) return this.unknownTopic(`${topic}/${partition}`);
    if (record.leaderEpoch !== expectedEpoch) {
      return this.fail(
        'METADATA_CONFLICT',
        `${topic}/${partition} is at epoch ${record.leaderEpoch}, not the expected ${expectedEpoch}`,
      );
    }
    return { topic: t, record };
  }

  private replacePartition(t: TopicRecord, record: PartitionRecord): ApplyResult {
    this.bump();
    const partitions = [...t.partitions];
    partitions[record.partition] = record;
    this.topics.set(t.name, { ...t, partitions });
    return { ...this.ok(), leaderEpoch: record.leaderEpoch };
  }
}

/**
 * The record after a leader (and in-sync set) change, by updateLeader's rules, or why it is refused: the
 * partition exists, is at `expectedEpoch` (compare-and-set), and the ISR and leader are within its replicas.
 */
function leaderChange(
  record: PartitionRecord | undefined,
  c: {
    readonly topic: string;
    readonly partition: number;
    readonly expectedEpoch: number;
    readonly leader: BrokerId;
    readonly isr?: readonly BrokerId[];
  },
): PartitionRecord | { readonly code: ErrorCode; readonly message: string } {
  if (record === undefined) {
    return {
      code: 'UNKNOWN_TOPIC_OR_PARTITION',
      message: `unknown topic or partition ${c.topic}/${c.partition}`,
    };
  }
  if (record.leaderEpoch !== c.expectedEpoch) {
    return {
      code: 'METADATA_CONFLICT',
      message: `${c.topic}/${c.partition} is at epoch ${record.leaderEpoch}, not the expected ${c.expectedEpoch}`,
    };
  }
  const isr = c.isr ?? record.isr;
  const bad = checkMembers(isr, record.replicas, c.leader);
  if (bad !== undefined) return { code: 'METADATA_CONFLICT', message: bad };
  return { ...record, isr: [...isr], leader: c.leader, leaderEpoch: record.leaderEpoch + 1 };
}
