/**
 * Metadata commands and their log encoding.
 *
 * Wire grammar (msgpackr, plain maps, no records):
 *   [formatVersion: 1, type: string, body: map, requestId: string | nil]
 *
 * The decoder checks shapes only (types, integer ranges); meaning (does the topic exist, is the epoch
 * current) is checked by apply, which answers with a catalogue error as a value. A log entry that does not
 * decode fails an invariant: it is a bug or corruption, never something to apply partially.
 * Bump COMMAND_FORMAT_VERSION only with a decoder that still reads every older version.
 */
import { Packr } from 'msgpackr';
import { InvariantViolation, invariant } from '../errors/index.js';
import {
  BROKER_STATES,
  type BrokerId,
  type BrokerState,
  type HostPort,
  MOVE_STATES,
  type MoveState,
  NO_BROKER,
} from './types.js';

export const COMMAND_FORMAT_VERSION = 1;

/** One partition's in-sync set as its leader publishes it, or a coordinator's leader choice keeping the set (an item of updateInSyncSets). */
export interface InSyncSetChange {
  readonly topic: string;
  readonly partition: number;
  readonly expectedEpoch: number;
  /** The publishing leader: the item is updateLeader with `isr`, so the hint is set to it as well. */
  readonly leader: BrokerId;
  readonly isr: readonly BrokerId[];
}

/** One broker's beat in a heartbeat command. */
export interface HeartbeatBeat {
  readonly brokerId: BrokerId;
  readonly atMs: number;
  readonly featureLevel?: number;
  /**
   * The metadata version of the registration the sender made (its registerBroker result): a level in a
   * beat from an earlier incarnation (proposed before a restart, applied after it) must not overwrite the
   * one the new registration said.
   */
  readonly registeredVersion?: number;
}

export type MetadataCommand =
  | {
      readonly type: 'registerBroker';
      readonly brokerId: BrokerId;
      readonly clientAddress: HostPort;
      readonly peerAddress: HostPort;
      readonly rack: string | null;
      readonly capacityHint: number;
      /** Coordinator's clock; becomes the broker's first last-heartbeat. */
      readonly atMs: number;
      /**
       * The highest feature level the broker's build supports (feature-levels.ts). Absent from builds before
       * feature levels: read as 1. An older decoder ignores it, so a newer broker registers with an older leader.
       */
      readonly featureLevel?: number;
    }
  | {
      readonly type: 'updateBroker';
      readonly brokerId: BrokerId;
      readonly state?: BrokerState;
      readonly clientAddress?: HostPort;
      readonly peerAddress?: HostPort;
      readonly rack?: string | null;
      readonly capacityHint?: number;
    }
  | {
      readonly type: 'heartbeat';
      /**
       * `featureLevel` (optional, as in registerBroker) refreshes the broker's supported level: an image
       * restored from an older build's snapshot lost it, and a broker must not need a restart to count again.
       */
      readonly beats: readonly HeartbeatBeat[];
    }
  | { readonly type: 'unregisterBroker'; readonly brokerId: BrokerId }
  | {
      readonly type: 'createTopic';
      readonly name: string;
      readonly replicationFactor: number;
      /** Replicas per partition, decided by the coordinator's placement; the first is the leader hint. */
      readonly assignment: readonly (readonly BrokerId[])[];
      readonly configs: Readonly<Record<string, string>>;
      readonly internal: boolean;
      /** The assignment is an operator's: pin every partition (PINNED_FIELD_NOTE). */
      readonly pinned?: boolean;
    }
  | { readonly type: 'deleteTopic'; readonly name: string }
  | {
      readonly type: 'addPartitions';
      readonly name: string;
      readonly assignment: readonly (readonly BrokerId[])[];
      /** The partition count the assignment was planned from: another change since is a conflict. */
      readonly expectedPartitions?: number;
      /** The assignment is an operator's: pin the added partitions (PINNED_FIELD_NOTE). */
      readonly pinned?: boolean;
    }
  | {
      readonly type: 'updateReplicaSet';
      readonly topic: string;
      readonly partition: number;
      readonly expectedEpoch: number;
      readonly replicas: readonly BrokerId[];
      readonly isr: readonly BrokerId[];
      readonly leader: BrokerId;
    }
  | {
      readonly type: 'updateLeader';
      readonly topic: string;
      readonly partition: number;
      readonly expectedEpoch: number;
      readonly leader: BrokerId;
      /** Unchanged when omitted. */
      readonly isr?: readonly BrokerId[];
    }
  | {
      /**
       * The in-sync set changes a broker's partition leaders found in one check, in one command (Kafka's
       * AlterPartition carries many partitions too): one metadata write per broker instead of one per
       * partition. Each item is applied or refused on its own, by updateLeader's rules (compare-and-set on the
       * leader epoch, ISR and leader within the replicas; epoch + 1 when applied); a refused item does not
       * hold back the others, and the command's version moves once if any item applied. At most
       * IN_SYNC_SET_ITEMS_MAX items and IN_SYNC_SETS_BYTES_MAX bytes (in-sync-batches.ts).
       *
       * Mixed versions: a broker whose code predates this type cannot decode it (InvariantViolation, "unknown
       * metadata command type"). As metadata leader it refuses such a proposal forwarded to it
       * (INVALID_REQUEST); as any other replica of the metadata log it logs "metadata entry rejected" and
       * skips the committed entry, so its image falls behind on those partitions (ISR, leader epoch) and
       * later compare-and-set commands on them are refused there alone: its image diverges. So brokers publish
       * with it only once the cluster feature level includes it (FEATURE.inSyncSetBatches, feature-levels.ts).
       */
      readonly type: 'updateInSyncSets';
      readonly items: readonly InSyncSetChange[];
    }
  | {
      readonly type: 'alterTopicConfig';
      readonly name: string;
      readonly set: Readonly<Record<string, string>>;
      readonly delete: readonly string[];
    }
  | {
      readonly type: 'recordMove';
      readonly topic: string;
      readonly partition: number;
      readonly from: BrokerId;
      readonly to: BrokerId;
      readonly state: MoveState;
    }
  | {
      readonly type: 'completeMove';
      readonly topic: string;
      readonly partition: number;
      readonly from: BrokerId;
      readonly to: BrokerId;
    }
  | {
      readonly type: 'setClusterConfig';
      readonly set: Readonly<Record<string, string>>;
      readonly delete: readonly string[];
    }
  | {
      /**
       * Raises the cluster's feature level (feature-levels.ts) to `level`. `brokers` is every registered broker
       * (decommissioned ones too: they run Raft replicas until unregistered) with its registration epoch, as the coordinator saw them when it checked
       * that each supports `level`: apply refuses (METADATA_CONFLICT) if the registry differs (a broker
       * registered or restarted since, perhaps on an older build), so no broker joins between the check and
       * the raise. Apply does not read the brokers' recorded levels: an image restored from an older build's
       * snapshot lacks them, and apply must answer the same on every replica. Never lowers the level.
       *
       * Only a coordinator that saw every registered broker support the level proposes it, so no replica
       * that cannot decode it is registered; an older build started again after it (a rollback) cannot.
       */
      readonly type: 'finalizeFeatureLevel';
      readonly level: number;
      readonly brokers: readonly { readonly brokerId: BrokerId; readonly epoch: number }[];
    }
  | {
      /** Reserves `count` producer ids (idempotent producers); the result carries the block's first id. */
      readonly type: 'allocateProducerIds';
      readonly count: number;
    }
  | {
      /**
       * Records the cluster's id (Metadata and DescribeCluster answer it on every broker), once: the first
       * applies, the same id again is a no-op, another one is METADATA_CONFLICT. Proposed by the coordinator
       * only once the cluster's feature level includes it (an older replica could not decode it).
       */
      readonly type: 'setClusterId';
      readonly clusterId: string;
    }
  | {
      /**
       * An operator's reassignment or unpin of some of a topic's partitions, all or none (REASSIGNMENT_NOTE).
       * Refused below the feature level that includes it (FEATURE.partitionReassignment): an older replica
       * cannot decode it.
       */
      readonly type: 'alterPartitionAssignments';
      readonly topic: string;
      readonly partitions: readonly PartitionAssignmentChange[];
    }
  | {
      /**
       * Sets or deletes one client id's quota overrides ('' the default of every client id;
       * client-quota-rules.ts). Refused below the feature level that includes it (FEATURE.clientQuotas): an
       * older replica cannot decode it.
       */
      readonly type: 'alterClientQuotas';
      readonly clientId: string;
      readonly set: Readonly<Record<string, string>>;
      readonly delete: readonly string[];
    }
  | {
      /**
       * DeleteRecords: raises the partition's `logStartFloor` to `offset` (a lower or equal offset is a no-op,
       * the floor never goes back). `createdVersion` names the topic's incarnation, so a request for a topic
       * deleted and created again meanwhile is UNKNOWN_TOPIC_OR_PARTITION rather than applied to the new one.
       * The partition leader checked `offset` against its high watermark before proposing. Refused below the
       * feature level that includes it (FEATURE.deleteRecords): an older replica cannot decode it.
       */
      readonly type: 'advanceLogStart';
      readonly topic: string;
      readonly partition: number;
      readonly createdVersion: number;
      readonly offset: number;
    };

/**
 * REASSIGNMENT_NOTE. `replicas` pins the partition to that list (preferred leader first): when it holds the
 * same brokers as now, the list is written at once (a new order, a new preferred leader); otherwise it is
 * recorded as the partition's `targetReplicas` and the rebalancer moves one replica at a time towards it,
 * as it does its own moves. `replicas: null` unpins the partition (and drops any target not reached yet):
 * the rebalancer manages it again.
 */
export interface PartitionAssignmentChange {
  readonly partition: number;
  readonly replicas: readonly BrokerId[] | null;
}

/**
 * PINNED_FIELD_NOTE. `pinned` on createTopic and addPartitions marks the partitions as placed by an operator
 * (PartitionRecord.pinned). A decoder that predates it drops the field, so an older replica would record the
 * partitions unpinned and an older coordinator would move them: apply records the pin only once the cluster's
 * feature level includes it (FEATURE.pinnedAssignments), when no older build is registered, and the catalog
 * sends it only from then on. Absent means false.
 */
export type CommandType = MetadataCommand['type'];

/** A command as it sits in the log: the request id lets apply answer a retried proposal exactly once. */
export interface CommandEnvelope {
  readonly command: MetadataCommand;
  readonly requestId: string | null;
}

const packr = new Packr({ useRecords: false, moreTypes: false, bundleStrings: false });

export function encodeCommand(command: MetadataCommand, requestId: string | null = null): Uint8Array {
  const { type, ...body } = command;
  return packr.pack([COMMAND_FORMAT_VERSION, type, body, requestId]);
}

/** Decodes a log entry; throws InvariantViolation on anything malformed. */
export function decodeCommand(bytes: Uint8Array): CommandEnvelope {
  let raw: unknown;
  try {
    raw = packr.unpack(bytes);
  } catch (err) {
    throw new InvariantViolation(`metadata command does not decode: ${(err as Error).message}`);
  }
  invariant(Array.isArray(raw) && raw.length === 4, 'metadata command is not a 4-element array');
  const [version, type, body, requestId] = raw as unknown[];
  invariant(version === COMMAND_FORMAT_VERSION, `unknown metadata command format version ${String(version)}`);
  invariant(typeof type === 'string', 'metadata command type is not a string');
  invariant(requestId === null || typeof requestId === 'string', 'metadata request id is not a string');
  const b = obj(body, type);
  const decoder = DECODERS[type as CommandType] as ((b: Body) => MetadataCommand) | undefined;
  invariant(decoder !== undefined && Object.hasOwn(DECODERS, type), `unknown metadata command type ${type}`);
  return { command: decoder(b), requestId: requestId ?? null };
}

type Body = Record<string, unknown>;

const DECODERS: { readonly [K in CommandType]: (b: Body) => Extract<MetadataCommand, { type: K }> } = {
  registerBroker: (b) => ({
    type: 'registerBroker',
    brokerId: brokerId(b.brokerId, 'brokerId'),
    clientAddress: hostPort(b.clientAddress, 'clientAddress'),
    peerAddress: hostPort(b.peerAddress, 'peerAddress'),
    rack: nullableStr(b.rack, 'rack'),
    capacityHint: positive(b.capacityHint, 'capacityHint'),
    atMs: uint(b.atMs, 'atMs'),
    ...(b.featureLevel === undefined ? {} : { featureLevel: positiveInt(b.featureLevel, 'featureLevel') }),
  }),
  updateBroker: (b) => ({
    type: 'updateBroker',
    brokerId: brokerId(b.brokerId, 'brokerId'),
    ...(b.state === undefined ? {} : { state: oneOf(b.state, BROKER_STATES, 'state') }),
    ...(b.clientAddress === undefined ? {} : { clientAddress: hostPort(b.clientAddress, 'clientAddress') }),
    ...(b.peerAddress === undefined ? {} : { peerAddress: hostPort(b.peerAddress, 'peerAddress') }),
    ...(b.rack === undefined ? {} : { rack: nullableStr(b.rack, 'rack') }),
    ...(b.capacityHint === undefined ? {} : { capacityHint: positive(b.capacityHint, 'capacityHint') }),
  }),
  heartbeat: (b) => ({
    type: 'heartbeat',
    beats: list(b.beats, 'beats').map((x, i) => {
      const beat = obj(x, `beats[${i}]`);
      return {
        brokerId: brokerId(beat.brokerId, 'brokerId'),
        atMs: uint(beat.atMs, 'atMs'),
        ...(beat.featureLevel === undefined
          ? {}
          : { featureLevel: positiveInt(beat.featureLevel, 'featureLevel') }),
        ...(beat.registeredVersion === undefined
          ? {}
          : { registeredVersion: uint(beat.registeredVersion, 'registeredVersion') }),
      };
    }),
  }),
  unregisterBroker: (b) => ({ type: 'unregisterBroker', brokerId: brokerId(b.brokerId, 'brokerId') }),
  createTopic: (b) => ({
    type: 'createTopic',
    name: str(b.name, 'name'),
    replicationFactor: uint(b.replicationFactor, 'replicationFactor'),
    assignment: assignment(b.assignment),
    configs: stringMap(b.configs, 'configs'),
    internal: bool(b.internal, 'internal'),
    ...(b.pinned === undefined ? {} : { pinned: bool(b.pinned, 'pinned') }),
  }),
  deleteTopic: (b) => ({ type: 'deleteTopic', name: str(b.name, 'name') }),
  addPartitions: (b) => ({
    type: 'addPartitions',
    name: str(b.name, 'name'),
    assignment: assignment(b.assignment),
    ...(b.expectedPartitions === undefined
      ? {}
      : { expectedPartitions: uint(b.expectedPartitions, 'expectedPartitions') }),
    ...(b.pinned === undefined ? {} : { pinned: bool(b.pinned, 'pinned') }),
  }),
  updateReplicaSet: (b) => ({
    type: 'updateReplicaSet',
    topic: str(b.topic, 'topic'),
    partition: uint(b.partition, 'partition'),
    expectedEpoch: uint(b.expectedEpoch, 'expectedEpoch'),
    replicas: ids(b.replicas, 'replicas'),
    isr: ids(b.isr, 'isr'),
    leader: leader(b.leader),
  }),
  updateLeader: (b) => ({
    type: 'updateLeader',
    topic: str(b.topic, 'topic'),
    partition: uint(b.partition, 'partition'),
    expectedEpoch: uint(b.expectedEpoch, 'expectedEpoch'),
    leader: leader(b.leader),
    ...(b.isr === undefined ? {} : { isr: ids(b.isr, 'isr') }),
  }),
  updateInSyncSets: (b) => ({
    type: 'updateInSyncSets',
    items: list(b.items, 'items').map((x, i) => {
      const item = obj(x, `items[${i}]`);
      return {
        topic: str(item.topic, 'topic'),
        partition: uint(item.partition, 'partition'),
        expectedEpoch: uint(item.expectedEpoch, 'expectedEpoch'),
        leader: leader(item.leader),
        isr: ids(item.isr, 'isr'),
      };
    }),
  }),
  alterTopicConfig: (b) => ({
    type: 'alterTopicConfig',
    name: str(b.name, 'name'),
    set: stringMap(b.set, 'set'),
    delete: list(b.delete, 'delete').map((k) => str(k, 'delete[]')),
  }),
  recordMove: (b) => ({
    type: 'recordMove',
    topic: str(b.topic, 'topic'),
    partition: uint(b.partition, 'partition'),
    ...moveEnds(b, ''),
    state: oneOf(b.state, MOVE_STATES, 'state'),
  }),
  completeMove: (b) => ({
    type: 'completeMove',
    topic: str(b.topic, 'topic'),
    partition: uint(b.partition, 'partition'),
    ...moveEnds(b, ''),
  }),
  setClusterConfig: (b) => ({
    type: 'setClusterConfig',
    set: stringMap(b.set, 'set'),
    delete: list(b.delete, 'delete').map((k) => str(k, 'delete[]')),
  }),
  finalizeFeatureLevel: (b) => ({
    type: 'finalizeFeatureLevel',
    level: positiveInt(b.level, 'level'),
    brokers: list(b.brokers, 'brokers').map((x, i) => {
      const entry = obj(x, `brokers[${i}]`);
      return { brokerId: brokerId(entry.brokerId, 'brokerId'), epoch: uint(entry.epoch, 'epoch') };
    }),
  }),
  allocateProducerIds: (b) => ({ type: 'allocateProducerIds', count: positiveInt(b.count, 'count') }),
  setClusterId: (b) => ({ type: 'setClusterId', clusterId: str(b.clusterId, 'clusterId') }),
  alterPartitionAssignments: (b) => ({
    type: 'alterPartitionAssignments',
    topic: str(b.topic, 'topic'),
    partitions: list(b.partitions, 'partitions').map((x, i) => {
      const item = obj(x, `partitions[${i}]`);
      return {
        partition: uint(item.partition, `partitions[${i}].partition`),
        replicas: item.replicas === null ? null : ids(item.replicas, `partitions[${i}].replicas`),
      };
    }),
  }),
  alterClientQuotas: (b) => ({
    type: 'alterClientQuotas',
    clientId: str(b.clientId, 'clientId'),
    set: stringMap(b.set, 'set'),
    delete: list(b.delete, 'delete').map((k) => str(k, 'delete[]')),
  }),
  advanceLogStart: (b) => ({
    type: 'advanceLogStart',
    topic: str(b.topic, 'topic'),
    partition: uint(b.partition, 'partition'),
    createdVersion: uint(b.createdVersion, 'createdVersion'),
    offset: uint(b.offset, 'offset'),
  }),
};

// Shape checks. Exported for the snapshot decoder, which trusts its bytes as little as the log's.

export function obj(v: unknown, what: string): Body {
  invariant(typeof v === 'object' && v !== null && !Array.isArray(v), `metadata ${what} is not a map`);
  return v as Body;
}

export function list(v: unknown, what: string): unknown[] {
  invariant(Array.isArray(v), `metadata ${what} is not an array`);
  return v;
}

export function str(v: unknown, what: string): string {
  invariant(typeof v === 'string', `metadata ${what} is not a string`);
  return v;
}

export function nullableStr(v: unknown, what: string): string | null {
  return v === null ? null : str(v, what);
}

export function bool(v: unknown, what: string): boolean {
  invariant(typeof v === 'boolean', `metadata ${what} is not a boolean`);
  return v;
}

export function uint(v: unknown, what: string): number {
  invariant(typeof v === 'number' && Number.isSafeInteger(v) && v >= 0, `metadata ${what} is not a uint`);
  return v;
}

export function positiveInt(v: unknown, what: string): number {
  invariant(
    typeof v === 'number' && Number.isSafeInteger(v) && v > 0,
    `metadata ${what} is not a positive int`,
  );
  return v;
}

export function brokerId(v: unknown, what: string): BrokerId {
  invariant(typeof v === 'number' && Number.isSafeInteger(v) && v > 0, `metadata ${what} is not a broker id`);
  return v;
}

/**
 * A move's two brokers (`prefix`: the field names' prefix in the message). Either may be NO_BROKER (a move
 * that only adds or only removes a replica), not both.
 */
export function moveEnds(b: Record<string, unknown>, prefix: string): { from: BrokerId; to: BrokerId } {
  const from = b.from === NO_BROKER ? NO_BROKER : brokerId(b.from, `${prefix}from`);
  const to = b.to === NO_BROKER ? NO_BROKER : brokerId(b.to, `${prefix}to`);
  invariant(from !== NO_BROKER || to !== NO_BROKER, `metadata ${prefix}from and ${prefix}to are both empty`);
  return { from, to };
}

function leader(v: unknown): BrokerId {
  return v === -1 ? -1 : brokerId(v, 'leader');
}

export function positive(v: unknown, what: string): number {
  invariant(
    typeof v === 'number' && Number.isFinite(v) && v > 0,
    `metadata ${what} is not a positive number`,
  );
  return v;
}

export function oneOf<T extends string>(v: unknown, allowed: readonly T[], what: string): T {
  invariant(
    typeof v === 'string' && (allowed as readonly string[]).includes(v),
    `metadata ${what} is invalid`,
  );
  return v as T;
}

export function hostPort(v: unknown, what: string): HostPort {
  const b = obj(v, what);
  const port = uint(b.port, `${what}.port`);
  invariant(port <= 65_535, `metadata ${what}.port is out of range`);
  return { host: str(b.host, `${what}.host`), port };
}

export function ids(v: unknown, what: string): BrokerId[] {
  return list(v, what).map((x) => brokerId(x, what));
}

export function stringMap(v: unknown, what: string): Record<string, string> {
  const b = obj(v, what);
  const out: Record<string, string> = {};
  for (const [k, value] of Object.entries(b)) {
    invariant(k !== '__proto__', `metadata ${what} has a __proto__ key`);
    out[k] = str(value, `${what}.${k}`);
  }
  return out;
}

function assignment(v: unknown): BrokerId[][] {
  return list(v, 'assignment').map((r, i) => ids(r, `assignment[${i}]`));
}
