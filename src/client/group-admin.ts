/**
 * Consumer-group administration: list groups (every broker coordinates some), describe one (members,
 * assignments, committed offsets and lag per partition), reset a stopped group's offsets, delete some of a
 * group's offsets, delete a group.
 * Requests about one group go to its coordinator (FindCoordinator first), with retries while the
 * coordinator moves or loads.
 */
import { isRetriable, StreamBusError, toStreamBusError } from '../errors/index.js';
import { decodeAssignment } from '../protocol/consumer-protocol.js';
import {
  ApiKey,
  EARLIEST_TIMESTAMP,
  fromWireError,
  LATEST_TIMESTAMP,
  type RequestOf,
  type ResponseOf,
} from '../protocol/index.js';
import { type TopicPartition, topicPartitionKey } from './assignors/types.js';
import { delay } from './backoff.js';
import type { Cluster } from './cluster.js';
import { listOffsetsByLeader } from './list-offsets.js';
import { clientTimers } from './timers.js';

export interface GroupListing {
  groupId: string;
  state: string;
  protocolType: string;
  coordinatorId: number;
}

export interface GroupMemberView {
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  /** Undecodable assignment bytes (another protocol type) show as an empty list. */
  partitions: TopicPartition[];
}

export interface PartitionLag {
  topic: string;
  partition: number;
  /** -1 when the group never committed this partition. */
  committed: number;
  highWatermark: number;
  /** highWatermark - committed; null without a committed offset. */
  lag: number | null;
  /** The member holding it, if any. */
  memberId: string | null;
}

export interface GroupView {
  groupId: string;
  state: string;
  generation: number;
  protocol: string | null;
  leaderId: string | null;
  coordinatorId: number;
  members: GroupMemberView[];
  offsets: PartitionLag[];
}

/** One partition's outcome in `deleteOffsets`. */
export interface OffsetDeletion {
  topic: string;
  partition: number;
  /** The offset the group had committed just before (read by this call); -1 when none: nothing to delete. */
  committed: number;
  /** Why the offset was kept (GROUP_SUBSCRIBED_TO_TOPIC: a member reads the topic); null: deleted or none. */
  error: StreamBusError | null;
}

/** Where to move a group's offsets: earliest, latest, an offset, or the first message at/after a time. */
export type OffsetResetTarget =
  | { to: 'earliest' }
  | { to: 'latest' }
  | { to: 'offset'; offset: number }
  | { to: 'timestamp'; timestampMs: number };

const COORDINATOR_RETRIES = 10;
const COORDINATOR_CODES = new Set(['NOT_COORDINATOR', 'COORDINATOR_NOT_AVAILABLE']);

export class GroupAdmin {
  constructor(private readonly cluster: Cluster) {}

  /** Every group, from every broker's coordinator. */
  async listGroups(): Promise<GroupListing[]> {
    const md = await this.cluster.metadata();
    const answers = await Promise.all(
      md.brokers.map(async (b) => {
        try {
          const res = await this.cluster.request(b.id, ApiKey.ListGroups, {});
          return res.groups.map((g) => ({ ...g, coordinatorId: b.id }));
        } catch {
          return []; // a broker down right now: its groups reappear on the next listing
        }
      }),
    );
    return answers.flat().sort((a, b) => (a.groupId < b.groupId ? -1 : 1));
  }

  async describeGroup(groupId: string): Promise<GroupView> {
    const { coordinatorId, response } = await this.toCoordinator(groupId, ApiKey.DescribeGroups, {
      groupIds: [groupId],
    });
    const g = response.groups[0];
    if (g === undefined) throw unexpected('DescribeGroups answered no group');
    if (g.error !== null) throw fromWireError(g.error, 'admin.describeGroup');
    const members = g.members.map((m) => ({
      memberId: m.memberId,
      groupInstanceId: m.groupInstanceId,
      clientId: m.clientId,
      clientHost: m.clientHost,
      partitions: safeAssignment(m.assignment),
    }));
    const offsets = await this.lag(groupId, members);
    return {
      groupId,
      state: g.state,
      generation: g.generation,
      protocol: g.protocol,
      leaderId: g.leaderId,
      coordinatorId,
      members,
      offsets,
    };
  }

  /**
   * Moves the committed offsets of a group with no members (stop its consumers first) for every partition
   * of `topic` (or the listed ones). Offsets may move backwards: this is the explicit reset. An offset
   * outside a partition's log is clamped into it, as Kafka's tool does: past the end it would hold the
   * group's commits back (they never go below it) until the partition grew that far.
   */
  async resetOffsets(
    groupId: string,
    topic: string,
    target: OffsetResetTarget,
    partitions?: readonly number[],
  ): Promise<{ partition: number; offset: number }[]> {
    const count = await this.cluster.partitionCount(topic);
    const list = partitions ?? [...Array(count).keys()];
    let offsets: number[];
    if (target.to === 'offset') {
      const bound = (timestamp: number) =>
        listOffsetsByLeader(
          this.cluster,
          list.map((partition) => ({ topic, partition, timestamp })),
        );
      const [earliest, latest] = await Promise.all([bound(EARLIEST_TIMESTAMP), bound(LATEST_TIMESTAMP)]);
      offsets = list.map((_, i) => {
        const low = earliest[i]!;
        const high = latest[i]!;
        if (low.error !== null) throw fromWireError(low.error, 'admin.resetOffsets');
        if (high.error !== null) throw fromWireError(high.error, 'admin.resetOffsets');
        return Math.min(Math.max(target.offset, low.offset), high.offset);
      });
    } else {
      const timestamp =
        target.to === 'earliest'
          ? EARLIEST_TIMESTAMP
          : target.to === 'latest'
            ? LATEST_TIMESTAMP
            : target.timestampMs;
      const results = await listOffsetsByLeader(
        this.cluster,
        list.map((partition) => ({ topic, partition, timestamp })),
      );
      const latest =
        target.to === 'timestamp'
          ? await listOffsetsByLeader(
              this.cluster,
              list.map((partition) => ({ topic, partition, timestamp: LATEST_TIMESTAMP })),
            )
          : results;
      offsets = results.map((r, i) => {
        if (r.error !== null) throw fromWireError(r.error, 'admin.resetOffsets');
        // No message at or after the time: the end of the partition.
        return r.offset >= 0 ? r.offset : (latest[i]?.offset ?? 0);
      });
    }
    const { response } = await this.toCoordinator(groupId, ApiKey.OffsetCommit, {
      groupId,
      generation: -1,
      memberId: '',
      groupInstanceId: null,
      reset: true,
      partitions: list.map((partition, i) => ({
        topic,
        partition,
        offset: offsets[i] ?? 0,
        metadata: 'reset',
      })),
    });
    if (response.error !== null) throw fromWireError(response.error, 'admin.resetOffsets');
    for (const p of response.partitions)
      if (p.error !== null) throw fromWireError(p.error, 'admin.resetOffsets');
    return list.map((partition, i) => ({ partition, offset: offsets[i] ?? 0 }));
  }

  /** Deletes a group with no members, and its committed offsets. */
  async deleteGroup(groupId: string): Promise<void> {
    const { response } = await this.toCoordinator(groupId, ApiKey.DeleteGroups, { groupIds: [groupId] });
    const g = response.groups[0];
    if (g === undefined) throw unexpected('DeleteGroups answered no group');
    if (g.error !== null) throw fromWireError(g.error, 'admin.deleteGroup');
  }

  /**
   * Deletes a group's committed offsets (Kafka's OffsetDelete, `kafka-consumer-groups --delete-offsets`)
   * for the listed partitions of `topic`, or for all of them: every partition the topic has plus every one
   * the group committed (so the offsets of a deleted topic can go too). Afterwards the group starts those
   * partitions per its consumers' `autoOffsetReset`. While the group has members, partitions of a topic a
   * member subscribes to are refused one by one (GROUP_SUBSCRIBED_TO_TOPIC, in the result); the rest are
   * deleted. Throws GROUP_ID_NOT_FOUND for a group that does not exist, UNKNOWN_TOPIC_OR_PARTITION when
   * neither the topic nor any offset of the group's for it does; a listed partition that neither exists
   * nor has an offset is UNKNOWN_TOPIC_OR_PARTITION in the result.
   */
  async deleteOffsets(
    groupId: string,
    topic: string,
    partitions?: readonly number[],
  ): Promise<OffsetDeletion[]> {
    const fetched = await this.toCoordinator(groupId, ApiKey.OffsetFetch, { groupId, partitions: null });
    if (fetched.response.error !== null) throw fromWireError(fetched.response.error, 'admin.deleteOffsets');
    const committed = new Map<number, number>();
    for (const c of fetched.response.partitions) if (c.topic === topic) committed.set(c.partition, c.offset);
    const list = partitions === undefined ? await this.partitionsToDelete(topic, committed) : [...partitions];
    const { response } = await this.toCoordinator(groupId, ApiKey.OffsetDelete, {
      groupId,
      partitions: list.map((partition) => ({ topic, partition })),
    });
    if (response.error !== null) throw fromWireError(response.error, 'admin.deleteOffsets');
    if (list.length === 0) {
      throw new StreamBusError('UNKNOWN_TOPIC_OR_PARTITION', {
        operation: 'admin.deleteOffsets',
        message: `unknown topic ${topic}, and group ${JSON.stringify(groupId)} has no offsets for it`,
        metadata: { topic },
      });
    }
    return response.partitions.map((p) => ({
      topic: p.topic,
      partition: p.partition,
      committed: committed.get(p.partition) ?? -1,
      error: p.error === null ? null : fromWireError(p.error, 'admin.deleteOffsets'),
    }));
  }

  /** Every partition of `topic` (none when it does not exist) and every one the group committed, sorted. */
  private async partitionsToDelete(topic: string, committed: ReadonlyMap<number, number>): Promise<number[]> {
    let count = 0;
    try {
      count = await this.cluster.partitionCount(topic);
    } catch (err) {
      if (toStreamBusError(err).code !== 'UNKNOWN_TOPIC_OR_PARTITION') throw err;
    }
    return [...new Set([...Array(count).keys(), ...committed.keys()])].sort((a, b) => a - b);
  }

  private async lag(groupId: string, members: readonly GroupMemberView[]): Promise<PartitionLag[]> {
    const { response } = await this.toCoordinator(groupId, ApiKey.OffsetFetch, { groupId, partitions: null });
    if (response.error !== null) throw fromWireError(response.error, 'admin.describeGroup');
    const owner = new Map<string, string>();
    for (const m of members) for (const p of m.partitions) owner.set(topicPartitionKey(p), m.memberId);
    const rows = new Map<string, { topic: string; partition: number; committed: number }>();
    for (const c of response.partitions) rows.set(topicPartitionKey(c), { ...c, committed: c.offset });
    for (const m of members) {
      for (const p of m.partitions) {
        const k = topicPartitionKey(p);
        if (!rows.has(k)) rows.set(k, { topic: p.topic, partition: p.partition, committed: -1 });
      }
    }
    const list = [...rows.values()].sort((a, b) =>
      a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1,
    );
    const ends = await listOffsetsByLeader(
      this.cluster,
      list.map((r) => ({ topic: r.topic, partition: r.partition, timestamp: LATEST_TIMESTAMP })),
    );
    return list.map((r, i) => {
      const end = ends[i];
      const highWatermark = end !== undefined && end.error === null ? end.offset : -1;
      return {
        topic: r.topic,
        partition: r.partition,
        committed: r.committed,
        highWatermark,
        lag: r.committed >= 0 && highWatermark >= 0 ? Math.max(0, highWatermark - r.committed) : null,
        memberId: owner.get(topicPartitionKey(r)) ?? null,
      };
    });
  }

  /** Sends to the group's coordinator, finding it again while it moves or loads. */
  private async toCoordinator<K extends ApiKey>(
    groupId: string,
    apiKey: K,
    body: RequestOf<K>,
  ): Promise<{ coordinatorId: number; response: ResponseOf<K> }> {
    for (let attempt = 0; ; attempt++) {
      try {
        const found = await this.cluster.requestAny(ApiKey.FindCoordinator, { groupId });
        if (found.error !== null) throw fromWireError(found.error, 'admin.findCoordinator');
        const connection = await this.cluster.connectionAt(`${found.host}:${found.port}`);
        const response = await connection.request(apiKey, body);
        const error = groupLevelError(response);
        if (error !== null) throw error;
        return { coordinatorId: found.nodeId, response };
      } catch (err) {
        const e = toStreamBusError(err, 'admin.group');
        const again = COORDINATOR_CODES.has(e.code) || (isRetriable(e) && e.code !== 'REBALANCE_IN_PROGRESS');
        if (!again || attempt >= COORDINATOR_RETRIES) throw e;
        this.cluster.invalidateMetadata();
        await delay(Math.min(1000, 50 * 2 ** attempt), clientTimers);
      }
    }
  }
}

/** A coordinator-routing error in any group response shape (so toCoordinator can retry it). */
function groupLevelError(response: unknown): StreamBusError | null {
  const r = response as { error?: { code: number } | null; groups?: { error: unknown }[] };
  const wire =
    (r.error as Parameters<typeof fromWireError>[0] | null | undefined) ??
    (r.groups?.[0]?.error as Parameters<typeof fromWireError>[0] | null | undefined) ??
    null;
  if (wire === null) return null;
  const e = fromWireError(wire, 'admin.group');
  return COORDINATOR_CODES.has(e.code) ? e : null;
}

function safeAssignment(bytes: Buffer): TopicPartition[] {
  try {
    return decodeAssignment(bytes).partitions;
  } catch {
    return [];
  }
}

function unexpected(message: string): StreamBusError {
  return new StreamBusError('UNKNOWN_SERVER_ERROR', { operation: 'admin.group', message });
}
