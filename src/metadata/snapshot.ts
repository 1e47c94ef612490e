/**
 * The on-disk snapshot of the metadata image.
 *
 *   [formatVersion: 1, {
 *     appliedIndex, version,
 *     brokers: BrokerRecord[] (by id), topics: TopicRecord[] (by name), moves: MoveRecord[] (by key),
 *     clusterConfig: map, recentRequests: [requestId, ApplyResult][] (oldest first),
 *     nextProducerId: int >= 1 (absent in snapshots written before producer ids existed: read as 1),
 *     featureLevel: int >= 1 (absent before feature levels: read as 1; so is each broker's featureLevel),
 *     clusterId: string (absent until recorded: read as null),
 *     clientQuotas: [clientId, { producer_byte_rate?, consumer_byte_rate? }][] by client id
 *       (absent when there are none, and in snapshots written before client quotas: read as none)
 *   }]
 *   a partition of a topic carries `pinned: true` when pinned (absent otherwise, and in older snapshots),
 *   `targetReplicas: int[]` while an operator's reassignment is under way (absent otherwise), and
 *   `logStartFloor: int` once DeleteRecords advanced its log start (absent before, and in older snapshots)
 *
 * Collections are sorted so two replicas in the same state write the same bytes, whatever the history
 * that got them there. Restore checks every field (InvariantViolation on anything malformed) and builds
 * the new state aside before replacing the old one. Bump SNAPSHOT_FORMAT_VERSION only with a decoder that
 * still reads the previous version: snapshots outlive the code that wrote them.
 */
import { Packr } from 'msgpackr';
import { ERRORS, type ErrorCode, InvariantViolation, invariant } from '../errors/index.js';
import {
  type ClientQuotaKey,
  type ClientQuotaOverrides,
  checkClientQuotaChange,
} from './client-quota-rules.js';
import {
  bool,
  brokerId,
  hostPort,
  ids,
  list,
  moveEnds,
  nullableStr,
  obj,
  oneOf,
  positive,
  positiveInt,
  str,
  stringMap,
  uint,
} from './commands.js';
import { BASELINE_FEATURE_LEVEL } from './feature-levels.js';
import { FIRST_PRODUCER_ID, MetadataState } from './state.js';
import {
  type ApplyResult,
  BROKER_STATES,
  type BrokerRecord,
  type InSyncSetResult,
  MOVE_STATES,
  type MoveRecord,
  moveKey,
  type PartitionRecord,
  type TopicRecord,
} from './types.js';

export const SNAPSHOT_FORMAT_VERSION = 1;

const packr = new Packr({ useRecords: false, moreTypes: false, bundleStrings: false });

export function encodeSnapshot(state: MetadataState, appliedIndex: number): Uint8Array {
  const byKey = <T>(m: ReadonlyMap<string | number, T>): T[] =>
    [...m.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, v]) => v);
  return packr.pack([
    SNAPSHOT_FORMAT_VERSION,
    {
      appliedIndex,
      version: state.version,
      brokers: byKey(state.brokers),
      topics: byKey(state.topics),
      moves: byKey(state.moves),
      clusterConfig: state.clusterConfig,
      recentRequests: [...state.recentRequests.entries()],
      nextProducerId: state.nextProducerId,
      featureLevel: state.featureLevel,
      ...(state.clusterId === null ? {} : { clusterId: state.clusterId }),
      ...(state.clientQuotas.size === 0 ? {} : { clientQuotas: [...state.clientQuotas.entries()] }),
    },
  ]);
}

export function decodeSnapshot(bytes: Uint8Array): { state: MetadataState; appliedIndex: number } {
  let raw: unknown;
  try {
    raw = packr.unpack(bytes);
  } catch (err) {
    throw new InvariantViolation(`metadata snapshot does not decode: ${(err as Error).message}`);
  }
  invariant(Array.isArray(raw) && raw.length === 2, 'metadata snapshot is not a 2-element array');
  invariant(raw[0] === SNAPSHOT_FORMAT_VERSION, `unknown metadata snapshot format version ${String(raw[0])}`);
  const b = obj(raw[1], 'snapshot');
  const state = new MetadataState();
  state.version = uint(b.version, 'version');
  for (const x of list(b.brokers, 'brokers')) {
    const r = brokerRecord(x);
    invariant(!state.brokers.has(r.id), `snapshot repeats broker ${r.id}`);
    state.brokers.set(r.id, r);
  }
  for (const x of list(b.topics, 'topics')) {
    const t = topicRecord(x);
    invariant(!state.topics.has(t.name), `snapshot repeats topic ${t.name}`);
    state.topics.set(t.name, t);
  }
  for (const x of list(b.moves, 'moves')) {
    const m = moveRecord(x);
    state.moves.set(moveKey(m.topic, m.partition, m.from, m.to), m);
  }
  state.clusterConfig = stringMap(b.clusterConfig, 'clusterConfig');
  for (const x of list(b.recentRequests, 'recentRequests')) {
    const pair = list(x, 'recentRequests[]');
    invariant(pair.length === 2, 'snapshot request entry is not a pair');
    state.recentRequests.set(str(pair[0], 'requestId'), parseApplyResult(pair[1]));
  }
  // An optional field rather than a new format version: a snapshot from before producer ids had handed
  // none out, so the counter's start is exactly right for it.
  state.nextProducerId =
    b.nextProducerId === undefined ? FIRST_PRODUCER_ID : positiveInt(b.nextProducerId, 'nextProducerId');
  // Optional for the same reason: a snapshot from before feature levels is of a cluster at the baseline.
  state.featureLevel =
    b.featureLevel === undefined ? BASELINE_FEATURE_LEVEL : positiveInt(b.featureLevel, 'featureLevel');
  state.clusterId = b.clusterId === undefined ? null : str(b.clusterId, 'clusterId');
  if (b.clientQuotas !== undefined) state.clientQuotas = clientQuotas(b.clientQuotas);
  return { state, appliedIndex: uint(b.appliedIndex, 'appliedIndex') };
}

function clientQuotas(v: unknown): ClientQuotaOverrides {
  const out = new Map<string, Partial<Record<ClientQuotaKey, string>>>();
  for (const x of list(v, 'clientQuotas')) {
    const pair = list(x, 'clientQuotas[]');
    invariant(pair.length === 2, 'snapshot client quota entry is not a pair');
    const clientId = str(pair[0], 'clientQuotas[].clientId');
    const entry = stringMap(pair[1], `clientQuotas[${clientId}]`);
    invariant(
      checkClientQuotaChange(clientId, entry, []) === undefined,
      `snapshot client quotas of '${clientId}' are invalid`,
    );
    invariant(!out.has(clientId), `snapshot repeats client quotas of '${clientId}'`);
    out.set(clientId, entry);
  }
  return out;
}

function brokerRecord(x: unknown): BrokerRecord {
  const b = obj(x, 'broker');
  return {
    id: brokerId(b.id, 'broker.id'),
    clientAddress: hostPort(b.clientAddress, 'broker.clientAddress'),
    peerAddress: hostPort(b.peerAddress, 'broker.peerAddress'),
    rack: nullableStr(b.rack, 'broker.rack'),
    state: oneOf(b.state, BROKER_STATES, 'broker.state'),
    lastHeartbeatMs: uint(b.lastHeartbeatMs, 'broker.lastHeartbeatMs'),
    capacityHint: positive(b.capacityHint, 'broker.capacityHint'),
    epoch: uint(b.epoch, 'broker.epoch'),
    registeredVersion: uint(b.registeredVersion, 'broker.registeredVersion'),
    featureLevel:
      b.featureLevel === undefined
        ? BASELINE_FEATURE_LEVEL
        : positiveInt(b.featureLevel, 'broker.featureLevel'),
  };
}

function topicRecord(x: unknown): TopicRecord {
  const b = obj(x, 'topic');
  const partitions = list(b.partitions, 'topic.partitions').map((p, i): PartitionRecord => {
    const r = obj(p, 'partition');
    const partition = uint(r.partition, 'partition.partition');
    invariant(partition === i, `snapshot partition ${partition} at position ${i}`);
    return {
      partition,
      replicas: ids(r.replicas, 'partition.replicas'),
      leader: r.leader === -1 ? -1 : brokerId(r.leader, 'partition.leader'),
      leaderEpoch: uint(r.leaderEpoch, 'partition.leaderEpoch'),
      isr: ids(r.isr, 'partition.isr'),
      ...(r.pinned === undefined ? {} : pinnedField(r.pinned)),
      ...(r.targetReplicas === undefined
        ? {}
        : { targetReplicas: ids(r.targetReplicas, 'partition.targetReplicas') }),
      ...(r.logStartFloor === undefined
        ? {}
        : { logStartFloor: uint(r.logStartFloor, 'partition.logStartFloor') }),
    };
  });
  return {
    name: str(b.name, 'topic.name'),
    partitions,
    replicationFactor: uint(b.replicationFactor, 'topic.replicationFactor'),
    configs: stringMap(b.configs, 'topic.configs'),
    internal: bool(b.internal, 'topic.internal'),
    createdVersion: uint(b.createdVersion, 'topic.createdVersion'),
  };
}

/** A pinned partition says `pinned: true`; an unpinned one leaves the field out (PartitionRecord.pinned). */
function pinnedField(x: unknown): { pinned?: true } {
  invariant(
    bool(x, 'partition.pinned'),
    'snapshot partition.pinned is false (an unpinned partition omits it)',
  );
  return { pinned: true };
}

function moveRecord(x: unknown): MoveRecord {
  const b = obj(x, 'move');
  return {
    topic: str(b.topic, 'move.topic'),
    partition: uint(b.partition, 'move.partition'),
    ...moveEnds(b, 'move.'),
    state: oneOf(b.state, MOVE_STATES, 'move.state'),
    recordedVersion: uint(b.recordedVersion, 'move.recordedVersion'),
  };
}

/**
 * Checks an ApplyResult that came from outside (a snapshot, or a forwarding RPC's answer): InvariantViolation
 * if malformed. The RPC layer should map that to MALFORMED_FRAME for its peer.
 */
export function parseApplyResult(x: unknown): ApplyResult {
  const b = obj(x, 'result');
  const version = uint(b.version, 'result.version');
  if (bool(b.ok, 'result.ok')) {
    return {
      ok: true,
      version,
      ...(b.unknownBrokerIds === undefined
        ? {}
        : { unknownBrokerIds: ids(b.unknownBrokerIds, 'result.unknown') }),
      ...(b.leaderEpoch === undefined ? {} : { leaderEpoch: uint(b.leaderEpoch, 'result.leaderEpoch') }),
      ...(b.firstProducerId === undefined
        ? {}
        : { firstProducerId: positiveInt(b.firstProducerId, 'result.firstProducerId') }),
      ...(b.inSyncSets === undefined
        ? {}
        : { inSyncSets: list(b.inSyncSets, 'result.inSyncSets').map(inSyncSetResult) }),
    };
  }
  return { ok: false, code: errorCode(b.code), message: str(b.message, 'result.message'), version };
}

function inSyncSetResult(x: unknown): InSyncSetResult {
  const b = obj(x, 'result.inSyncSets[]');
  return bool(b.ok, 'result.inSyncSets[].ok')
    ? { ok: true, leaderEpoch: uint(b.leaderEpoch, 'result.inSyncSets[].leaderEpoch') }
    : { ok: false, code: errorCode(b.code) };
}

function errorCode(x: unknown): ErrorCode {
  const code = str(x, 'result.code');
  invariant(Object.hasOwn(ERRORS, code), `snapshot result has unknown error code ${code}`);
  return code as ErrorCode;
}
