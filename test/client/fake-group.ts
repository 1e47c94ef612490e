/**
 * A one-member consumer group on a FakeBroker: enough of the coordinator (FindCoordinator, JoinGroup,
 * SyncGroup, Heartbeat, LeaveGroup, OffsetCommit, OffsetFetch) for SDK tests to drive a member through
 * rebalances and inject faults per request, without the real broker's join delays.
 */
import type { ErrorCode } from '../../src/errors/index.js';
import { ApiKey, type SyncGroupRequest, wireErrorOf } from '../../src/protocol/index.js';
import type { FakeBroker } from './fake-broker.js';

export interface FakeGroup {
  /** Committed offsets by `topic/partition`. */
  readonly committed: Map<string, number>;
  /** Every offset the member committed, in order, by `topic/partition`. */
  readonly commits: { key: string; offset: number }[];
  /** The generation the last JoinGroup started. */
  generation(): number;
  /** Answers the next heartbeat with REBALANCE_IN_PROGRESS, so the member rejoins. */
  rebalance(): void;
  /** Answers the next heartbeat with this error instead (e.g. UNKNOWN_MEMBER_ID: the session is over). */
  failNextHeartbeat(code: ErrorCode): void;
  /** Replaces the assignment the leader sent, e.g. to take partitions away in some generation. */
  assignmentOf: (req: SyncGroupRequest) => Buffer;
}

export function serveOneMemberGroup(broker: FakeBroker): FakeGroup {
  let generation = 0;
  let members = 0;
  let heartbeatError: ErrorCode | null = null;
  const group: FakeGroup = {
    committed: new Map(),
    commits: [],
    generation: () => generation,
    rebalance: () => {
      heartbeatError = 'REBALANCE_IN_PROGRESS';
    },
    failNextHeartbeat: (code) => {
      heartbeatError = code;
    },
    assignmentOf: (req) =>
      req.assignments.find((a) => a.memberId === req.memberId)?.assignment ?? Buffer.alloc(0),
  };
  const h = broker.handlers;
  h[ApiKey.FindCoordinator] = () => ({ error: null, nodeId: 1, host: broker.host, port: broker.port });
  h[ApiKey.JoinGroup] = (req) => {
    generation++;
    const memberId = req.memberId === '' ? `member-${++members}` : req.memberId;
    const chosen = req.protocols[0]!;
    return {
      error: null,
      generation,
      protocolType: req.protocolType,
      protocol: chosen.name,
      leaderId: memberId,
      memberId,
      members: [{ memberId, groupInstanceId: req.groupInstanceId, metadata: chosen.metadata }],
      skipAssignment: false,
    };
  };
  h[ApiKey.SyncGroup] = (req) => ({ error: null, protocol: null, assignment: group.assignmentOf(req) });
  h[ApiKey.Heartbeat] = () => {
    const code = heartbeatError;
    heartbeatError = null;
    return { error: code === null ? null : wireErrorOf(code) };
  };
  h[ApiKey.LeaveGroup] = () => ({ error: null, members: [] });
  h[ApiKey.OffsetCommit] = (req) => ({
    error: null,
    partitions: req.partitions.map((p) => {
      const key = `${p.topic}/${p.partition}`;
      group.committed.set(key, p.offset);
      group.commits.push({ key, offset: p.offset });
      return { topic: p.topic, partition: p.partition, error: null };
    }),
  });
  h[ApiKey.OffsetFetch] = (req) => ({
    error: null,
    partitions: (req.partitions ?? []).map((p) => ({
      topic: p.topic,
      partition: p.partition,
      offset: group.committed.get(`${p.topic}/${p.partition}`) ?? -1,
      metadata: '',
      commitTimestampMs: -1,
      error: null,
    })),
  });
  return group;
}
