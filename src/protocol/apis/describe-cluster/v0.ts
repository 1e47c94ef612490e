/**
 * DescribeCluster v0 (api key 9): the metadata quorum and broker registry as the answering broker sees
 * them (its local metadata replica; a follower may lag the leader by a few milliseconds).
 *
 *   request  = { }                                  (extra keys are ignored)
 *   response = { clusterId: str, brokerId: int32 >= 0, metadataLeaderId: int32 >= -1,
 *                metadataTerm: int >= 0, metadataVersion: int >= 0,
 *                metadataVoters: [int32 >= 0], metadataLearners: [int32 >= 0],
 *                metadataReplication: [ { brokerId: int32 >= 0, matchIndex: int >= 0, lag: int >= 0,
 *                                         silentMs: int >= -1 } ]   (empty unless answered by the leader),
 *                brokers: [ { id: int32 >= 0, host: str, port: int32 >= 0, rack: str | nil,
 *                             state: "starting" | "alive" | "draining" | "failed" | "decommissioned",
 *                             peerHost: str, peerPort: int32 >= 0, epoch: int >= 0,
 *                             lastHeartbeatMs: int >= 0, replicas: int32 >= 0, leaders: int32 >= 0,
 *                             movingOff: int32 >= 0 } ],
 *                imbalance: { score: float >= 0, replicaScore: float >= 0, leaderScore: float >= 0 },
 *                partitions: int >= 0, underReplicatedPartitions: int >= 0 }
 */
import type {
  ClusterBrokerDescription,
  ClusterBrokerState,
  DescribeClusterRequest,
  DescribeClusterResponse,
  MetadataReplicaDescription,
} from '../../messages.js';
import {
  asInt32OrMinusOne,
  asNonNegInt32,
  asNonNegNumber,
  asNullableString,
  asObject,
  asSafeInt,
  asString,
  field,
  invalid,
  mapArray,
} from '../../narrow.js';

const BROKER_STATES: ReadonlySet<string> = new Set<ClusterBrokerState>([
  'starting',
  'alive',
  'draining',
  'failed',
  'decommissioned',
]);

export function encodeRequest(_req: DescribeClusterRequest): unknown {
  return {};
}

export function decodeRequest(v: unknown): DescribeClusterRequest {
  asObject(v, 'DescribeCluster');
  return {};
}

export function encodeResponse(res: DescribeClusterResponse): unknown {
  return {
    clusterId: res.clusterId,
    brokerId: res.brokerId,
    metadataLeaderId: res.metadataLeaderId,
    metadataTerm: res.metadataTerm,
    metadataVersion: res.metadataVersion,
    metadataVoters: res.metadataVoters,
    metadataLearners: res.metadataLearners,
    metadataReplication: res.metadataReplication.map((r) => ({
      brokerId: r.brokerId,
      matchIndex: r.matchIndex,
      lag: r.lag,
      silentMs: r.silentMs,
    })),
    brokers: res.brokers.map((b) => ({
      id: b.id,
      host: b.host,
      port: b.port,
      rack: b.rack,
      state: b.state,
      peerHost: b.peerHost,
      peerPort: b.peerPort,
      epoch: b.epoch,
      lastHeartbeatMs: b.lastHeartbeatMs,
      replicas: b.replicas,
      leaders: b.leaders,
      movingOff: b.movingOff,
    })),
    imbalance: {
      score: res.imbalance.score,
      replicaScore: res.imbalance.replicaScore,
      leaderScore: res.imbalance.leaderScore,
    },
    partitions: res.partitions,
    underReplicatedPartitions: res.underReplicatedPartitions,
  };
}

function asBrokerState(v: unknown, path: string): ClusterBrokerState {
  if (typeof v !== 'string' || !BROKER_STATES.has(v)) {
    return invalid(path, 'one of starting, alive, draining, failed, decommissioned');
  }
  return v as ClusterBrokerState;
}

function decodeBroker(item: unknown, path: string): ClusterBrokerDescription {
  const b = asObject(item, path);
  return {
    id: asNonNegInt32(field(b, 'id'), `${path}.id`),
    host: asString(field(b, 'host'), `${path}.host`),
    port: asNonNegInt32(field(b, 'port'), `${path}.port`),
    rack: asNullableString(field(b, 'rack'), `${path}.rack`),
    state: asBrokerState(field(b, 'state'), `${path}.state`),
    peerHost: asString(field(b, 'peerHost'), `${path}.peerHost`),
    peerPort: asNonNegInt32(field(b, 'peerPort'), `${path}.peerPort`),
    epoch: asSafeInt(field(b, 'epoch'), `${path}.epoch`, 0),
    lastHeartbeatMs: asSafeInt(field(b, 'lastHeartbeatMs'), `${path}.lastHeartbeatMs`, 0),
    replicas: asNonNegInt32(field(b, 'replicas'), `${path}.replicas`),
    leaders: asNonNegInt32(field(b, 'leaders'), `${path}.leaders`),
    movingOff: asNonNegInt32(field(b, 'movingOff'), `${path}.movingOff`),
  };
}

function decodeReplica(item: unknown, path: string): MetadataReplicaDescription {
  const r = asObject(item, path);
  return {
    brokerId: asNonNegInt32(field(r, 'brokerId'), `${path}.brokerId`),
    matchIndex: asSafeInt(field(r, 'matchIndex'), `${path}.matchIndex`, 0),
    lag: asSafeInt(field(r, 'lag'), `${path}.lag`, 0),
    silentMs: asSafeInt(field(r, 'silentMs'), `${path}.silentMs`, -1),
  };
}

export function decodeResponse(v: unknown): DescribeClusterResponse {
  const o = asObject(v, 'DescribeClusterResponse');
  const root = 'DescribeClusterResponse';
  const imbalance = asObject(field(o, 'imbalance'), `${root}.imbalance`);
  return {
    clusterId: asString(field(o, 'clusterId'), `${root}.clusterId`),
    brokerId: asNonNegInt32(field(o, 'brokerId'), `${root}.brokerId`),
    metadataLeaderId: asInt32OrMinusOne(field(o, 'metadataLeaderId'), `${root}.metadataLeaderId`),
    metadataTerm: asSafeInt(field(o, 'metadataTerm'), `${root}.metadataTerm`, 0),
    metadataVersion: asSafeInt(field(o, 'metadataVersion'), `${root}.metadataVersion`, 0),
    metadataVoters: mapArray(field(o, 'metadataVoters'), `${root}.metadataVoters`, asNonNegInt32),
    metadataLearners: mapArray(field(o, 'metadataLearners'), `${root}.metadataLearners`, asNonNegInt32),
    metadataReplication: mapArray(
      field(o, 'metadataReplication'),
      `${root}.metadataReplication`,
      decodeReplica,
    ),
    brokers: mapArray(field(o, 'brokers'), `${root}.brokers`, decodeBroker),
    imbalance: {
      score: asNonNegNumber(field(imbalance, 'score'), `${root}.imbalance.score`),
      replicaScore: asNonNegNumber(field(imbalance, 'replicaScore'), `${root}.imbalance.replicaScore`),
      leaderScore: asNonNegNumber(field(imbalance, 'leaderScore'), `${root}.imbalance.leaderScore`),
    },
    partitions: asSafeInt(field(o, 'partitions'), `${root}.partitions`, 0),
    underReplicatedPartitions: asSafeInt(
      field(o, 'underReplicatedPartitions'),
      `${root}.underReplicatedPartitions`,
      0,
    ),
  };
}
