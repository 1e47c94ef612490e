/**
 * What a group member does when its part of a rebalance fails, as Kafka's consumer does: an application
 * rebalance listener that throws does not undo the assignment or make the member rejoin (which would
 * rebalance the whole group, again and again for a listener that always throws); its error comes out of the
 * next poll(), once. Committed offsets that cannot be fetched yet leave their partitions assigned without a
 * position, not read, until a later poll fetches them: never read from a guessed position.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { decodeAssignment, decodeSubscription, encodeAssignment } from '../../src/client/assignors/index.js';
import type { TopicPartition } from '../../src/client/assignors/types.js';
import { Cluster } from '../../src/client/cluster.js';
import { Consumer, type ConsumerMessage } from '../../src/client/consumer.js';
import type { RebalanceListener } from '../../src/client/consumer-group.js';
import { Producer } from '../../src/client/producer.js';
import { ApiKey, type RequestOf, type ResponseOf, wireErrorOf } from '../../src/protocol/index.js';
import { FakeBroker } from './fake-broker.js';
import { type FakeGroup, serveOneMemberGroup } from './fake-group.js';

let broker: FakeBroker;
let cluster: Cluster;
let group: FakeGroup;
const consumers: Consumer[] = [];

afterEach(async () => {
  await Promise.allSettled(consumers.splice(0).map((c) => c.close()));
  await cluster?.close();
  await broker?.stop();
});

async function setup(partitions: number, perPartition: number): Promise<void> {
  broker = await FakeBroker.start();
  broker.createTopic('t', partitions);
  group = serveOneMemberGroup(broker);
  cluster = new Cluster({ bootstrap: [broker.bootstrap] });
  await produce(partitions, 0, perPartition);
}

async function produce(partitions: number, from: number, to: number): Promise<void> {
  const producer = new Producer(cluster, { lingerMs: 0 });
  for (let p = 0; p < partitions; p++) {
    const messages = [];
    for (let i = from; i < to; i++) messages.push({ partition: p, value: `p${p}-${i}` });
    await producer.send({ topic: 't', messages });
  }
}

function member(listener: RebalanceListener, assignors: string[] = ['cooperative-sticky']): Consumer {
  const consumer = new Consumer(cluster, {
    autoOffsetReset: 'earliest',
    maxWaitMs: 50,
    // Quick retries: the old code gave up on an offset fetch after 20 of them and rejoined.
    retryBackoffMs: 5,
    retryBackoffMaxMs: 10,
    group: { groupId: 'g', heartbeatIntervalMs: 100, sessionTimeoutMs: 5_000, assignors },
  });
  consumer.subscribe(['t'], listener);
  consumers.push(consumer);
  return consumer;
}

interface Polled {
  messages: ConsumerMessage[];
  errors: unknown[];
}

/** Polls until `done` holds (or the generous deadline passes), keeping every message and every error. */
async function pollUntil(
  consumer: Consumer,
  done: (p: Polled) => boolean,
  polled: Polled = { messages: [], errors: [] },
  timeoutMs = 15_000,
): Promise<Polled> {
  const deadline = Date.now() + timeoutMs;
  while (!done(polled) && Date.now() < deadline) {
    try {
      polled.messages.push(...(await consumer.poll({ signal: AbortSignal.timeout(500) })));
    } catch (err) {
      polled.errors.push(err);
    }
  }
  return polled;
}

const joins = () => broker.requestsOf(ApiKey.JoinGroup).length;
const values = (p: Polled) => p.messages.map((m) => m.value?.toString()).sort();
const range = (partition: number, from: number, to: number) =>
  Array.from({ length: to - from }, (_, i) => `p${partition}-${from + i}`);

describe('a rebalance listener that throws', () => {
  it('once: the member keeps its assignment without rejoining, consumes it, and poll() throws the error once', async () => {
    await setup(2, 5);
    const boom = new Error('onAssigned failed');
    let calls = 0;
    const consumer = member({
      onAssigned: () => {
        calls++;
        if (calls === 1) throw boom;
      },
    });
    const polled = await pollUntil(consumer, (p) => p.messages.length >= 10);
    expect(values(polled)).toEqual([...range(0, 0, 5), ...range(1, 0, 5)].sort());
    expect(polled.errors).toEqual([boom]);
    expect(joins()).toBe(1);
    expect(calls).toBe(1);
    expect(consumer.assignment()).toHaveLength(2);
  });

  it('every time: still one rebalance, not a loop; the partitions are consumed and each failure is reported once', async () => {
    await setup(2, 5);
    let calls = 0;
    const consumer = member({
      onAssigned: async () => {
        calls++;
        throw new Error(`onAssigned failed #${calls}`);
      },
    });
    const polled = await pollUntil(consumer, (p) => p.messages.length >= 10);
    // A while longer: a member rejoining after each failure would show more joins and more errors.
    await pollUntil(consumer, () => false, polled, 1_500);
    expect(values(polled)).toEqual([...range(0, 0, 5), ...range(1, 0, 5)].sort());
    expect(joins()).toBe(1);
    expect(calls).toBe(1);
    expect(polled.errors.map((e) => (e as Error).message)).toEqual(['onAssigned failed #1']);
  });

  it('onRevoked: the revocation completes (partitions committed and released) and poll() throws the error once', async () => {
    await setup(2, 5);
    const boom = new Error('onRevoked failed');
    const revoked: string[] = [];
    const consumer = member(
      {
        onRevoked: (partitions) => {
          revoked.push(...partitions.map((p) => `${p.topic}/${p.partition}`));
          throw boom;
        },
      },
      ['range'],
    );
    const first = await pollUntil(consumer, (p) => p.messages.length >= 10);
    expect(first.errors).toEqual([]);
    // The next generation gives this member partition 0 only (as if a new member had taken partition 1).
    const leaderPlan = group.assignmentOf;
    group.assignmentOf = (req) =>
      req.generation === 1 ? leaderPlan(req) : encodeAssignment([{ topic: 't', partition: 0 }]);
    group.rebalance();
    const second = await pollUntil(consumer, (p) => p.errors.length > 0 && joins() === 2);
    expect(second.errors).toEqual([boom]);
    expect(revoked.sort()).toEqual(['t/0', 't/1']);
    // Positions were committed before the partitions were given up.
    expect(group.committed.get('t/0')).toBe(5);
    expect(group.committed.get('t/1')).toBe(5);
    expect(consumer.assignment()).toEqual([{ topic: 't', partition: 0 }]);

    const fetchesBefore = broker.requestsOf(ApiKey.Fetch).length;
    await produce(2, 5, 8);
    const after = await pollUntil(consumer, (p) => p.messages.length >= 3);
    await pollUntil(consumer, () => false, after, 500);
    expect(values(after)).toEqual(range(0, 5, 8));
    expect(after.errors).toEqual([]);
    expect(joins()).toBe(2);
    const fetched = broker
      .requestsOf(ApiKey.Fetch)
      .slice(fetchesBefore)
      .flatMap((r) => (r.body as RequestOf<typeof ApiKey.Fetch>).partitions.map((p) => p.partition));
    expect(new Set(fetched)).toEqual(new Set([0]));
  });
});

describe('committed offsets that cannot be fetched during the assignment', () => {
  it('leave the partition assigned and unread until a later poll fetches them, then it starts at the committed offset', async () => {
    await setup(1, 10);
    group.committed.set('t/0', 4);
    // The coordinator cannot answer offset fetches for longer than the old code retried within a join.
    let refused = 0;
    const unavailableFor = 30;
    const fetchCommitted = broker.handlers[ApiKey.OffsetFetch]!;
    broker.handlers[ApiKey.OffsetFetch] = (req, header) => {
      if (refused >= unavailableFor) return fetchCommitted(req, header);
      refused++;
      return { error: wireErrorOf('COORDINATOR_NOT_AVAILABLE'), partitions: [] };
    };
    const consumer = member({});
    const tp = { topic: 't', partition: 0 };
    const during = await pollUntil(consumer, () => refused >= 5);
    expect(during.messages).toEqual([]);
    expect(consumer.assignment()).toEqual([tp]);
    expect(consumer.position(tp)).toBeUndefined();

    const polled = await pollUntil(consumer, (p) => p.messages.length >= 6, during);
    expect(refused).toBe(unavailableFor);
    // From the committed offset: nothing below it (no reset to earliest), nothing skipped.
    expect(polled.messages.map((m) => m.offset)).toEqual([4, 5, 6, 7, 8, 9]);
    expect(polled.errors).toEqual([]);
    expect(joins()).toBe(1);
    // Nothing committed from a guessed position meanwhile.
    await consumer.commit();
    expect(group.commits.map((c) => c.offset).every((o) => o >= 4)).toBe(true);
    expect(group.committed.get('t/0')).toBe(10);
  });
});

/** The coordinator refuses every commit carrying `generation` with `code`; others are taken as usual. */
function refuseCommitsOf(generation: number, code: 'ILLEGAL_GENERATION' | 'UNKNOWN_MEMBER_ID'): void {
  const commit = broker.handlers[ApiKey.OffsetCommit]!;
  broker.handlers[ApiKey.OffsetCommit] = (req, header) =>
    req.generation === generation
      ? {
          error: wireErrorOf(code),
          partitions: req.partitions.map((p) => ({ ...p, error: wireErrorOf(code) })),
        }
      : commit(req, header);
}

describe('partitions lost when the group ends the session', () => {
  /** Every JoinGroup's member id and the partitions its subscription claimed as owned. */
  const joinRequests = () =>
    broker.requestsOf(ApiKey.JoinGroup).map((r) => {
      const body = r.body as RequestOf<typeof ApiKey.JoinGroup>;
      const owned = decodeSubscription(body.protocols[0]!.metadata).ownedPartitions;
      return { memberId: body.memberId, owned: owned.map((p) => `${p.topic}/${p.partition}`) };
    });
  /** A listener that records each call as `revoked|assigned|lost <partitions>`. */
  const recording = (events: string[], with_: { onLost: boolean }): RebalanceListener => {
    const note = (what: string) => (ps: TopicPartition[]) =>
      void events.push(`${what} ${ps.map((p) => p.partition)}`);
    return {
      onRevoked: note('revoked'),
      onAssigned: note('assigned'),
      ...(with_.onLost ? { onLost: note('lost') } : {}),
    };
  };

  it('UNKNOWN_MEMBER_ID: onLost hears of them, nothing is committed, the member rejoins afresh and starts at the group committed offsets', async () => {
    await setup(2, 5);
    const events: string[] = [];
    const consumer = member(recording(events, { onLost: true }));
    const first = await pollUntil(consumer, (p) => p.messages.length >= 10);
    expect(first.errors).toEqual([]);
    expect(consumer.groupMetadata()).toMatchObject({ groupId: 'g', memberId: 'member-1', generation: 1 });
    await consumer.commit(); // both partitions at 5

    // The group removed this member (its next heartbeat hears so, while the application is not polling);
    // meanwhile another member read on and committed partition 0 up to 8.
    const commitsBefore = group.commits.length;
    const heartbeats = broker.requestsOf(ApiKey.Heartbeat).length;
    group.failNextHeartbeat('UNKNOWN_MEMBER_ID');
    await vi.waitFor(() => expect(broker.requestsOf(ApiKey.Heartbeat).length).toBeGreaterThan(heartbeats));
    group.committed.set('t/0', 8);
    await produce(2, 5, 10);
    const after = await pollUntil(consumer, (p) => joins() === 2 && p.messages.length >= 7);
    expect(after.errors).toEqual([]);
    expect(events).toEqual(['assigned 0,1', 'lost 0,1', 'assigned 0,1']);
    // Its stale positions (5) were not committed over the other member's progress, nor read from.
    expect(group.commits.slice(commitsBefore).some((c) => c.key === 't/0' && c.offset < 8)).toBe(false);
    const offsetsOf = (partition: number) =>
      after.messages.filter((m) => m.partition === partition).map((m) => m.offset);
    expect(offsetsOf(0)).toEqual([8, 9]);
    expect(offsetsOf(1)).toEqual([5, 6, 7, 8, 9]);
    // It joined as a new member, claiming nothing it owned under the old session.
    expect(joinRequests()[1]).toEqual({ memberId: '', owned: [] });
    expect(consumer.groupMetadata()).toMatchObject({ memberId: 'member-2', generation: 2 });
  });

  it('ILLEGAL_GENERATION on a commit: without onLost, onRevoked hears of them, before the member rejoins', async () => {
    await setup(1, 5);
    const events: string[] = [];
    const consumer = member(recording(events, { onLost: false }));
    await pollUntil(consumer, (p) => p.messages.length >= 5);
    refuseCommitsOf(1, 'ILLEGAL_GENERATION');
    await expect(consumer.commit()).rejects.toMatchObject({ code: 'ILLEGAL_GENERATION' });
    // The heartbeat has not noticed (it answers fine here): the refused commit alone ends the session.
    const polled = await pollUntil(consumer, () => joins() === 2);
    expect(polled.errors).toEqual([]);
    expect(events).toEqual(['assigned 0', 'revoked 0', 'assigned 0']);
    expect(joinRequests()[1]).toEqual({ memberId: 'member-1', owned: [] });
    expect(group.committed.has('t/0')).toBe(false);
  });
});

describe('a commit refused while the member is joining', () => {
  it('does not end the session the join is starting: the member joins once, as itself', async () => {
    await setup(2, 5);
    const consumer = member({}, ['range']);
    await pollUntil(consumer, (p) => p.messages.length >= 10);
    // The eager revocation's commit (generation 1) is refused as from an unknown member while the member is
    // already on its way into generation 2; the coordinator then takes the join.
    refuseCommitsOf(1, 'UNKNOWN_MEMBER_ID');
    group.rebalance();
    const polled = await pollUntil(consumer, () => joins() === 2);
    await pollUntil(consumer, () => false, polled, 1_000);
    expect(joins()).toBe(2);
    expect(consumer.assignment()).toHaveLength(2);
    // It joined as itself (a new member id would leave its old one to expire and rebalance the group again).
    const rejoin = broker.requestsOf(ApiKey.JoinGroup)[1]!.body as RequestOf<typeof ApiKey.JoinGroup>;
    expect(rejoin.memberId).toBe('member-1');
    expect(consumer.groupMetadata()).toMatchObject({ memberId: 'member-1', generation: 2 });
  });
});

describe('assignments and subscriptions that cannot be decoded', () => {
  it('an assignment from the leader: the member leaves the group (its partitions go to the others) and fails, without rejoining', async () => {
    await setup(2, 5);
    group.assignmentOf = () => Buffer.from('not an assignment');
    const consumer = member({});
    const polled = await pollUntil(consumer, (p) => p.errors.length > 0);
    await pollUntil(consumer, () => false, polled, 1_000);
    expect(polled.errors.length).toBeGreaterThan(0);
    for (const e of polled.errors) expect(e).toMatchObject({ code: 'INCONSISTENT_GROUP_PROTOCOL' });
    expect(polled.messages).toEqual([]);
    // Left, rather than staying as the owner of partitions it cannot read, or rejoining into the same answer.
    const leaves = broker
      .requestsOf(ApiKey.LeaveGroup)
      .map((r) => r.body as RequestOf<typeof ApiKey.LeaveGroup>);
    expect(leaves.map((l) => l.members.map((m) => m.memberId))).toEqual([['member-1']]);
    expect(joins()).toBe(1);
  });

  it("another member's subscription: that member is assigned nothing, the others are, and the leader's poll() reports it once", async () => {
    await setup(2, 5);
    // Two members: this consumer (the leader) and one whose subscription this client cannot decode.
    const join = broker.handlers[ApiKey.JoinGroup]!;
    broker.handlers[ApiKey.JoinGroup] = async (req, header) => {
      const res = (await join(req, header)) as ResponseOf<typeof ApiKey.JoinGroup>;
      const other = { memberId: 'other', groupInstanceId: null, metadata: Buffer.from('garbage') };
      return { ...res, members: [...res.members, other] };
    };
    const consumer = member({});
    const polled = await pollUntil(consumer, (p) => p.messages.length >= 10 && p.errors.length > 0);
    expect(values(polled)).toEqual([...range(0, 0, 5), ...range(1, 0, 5)].sort());
    expect(polled.errors).toHaveLength(1);
    expect(polled.errors[0]).toMatchObject({ code: 'INCONSISTENT_GROUP_PROTOCOL' });
    expect((polled.errors[0] as Error).message).toContain('other');
    const sync = broker.requestsOf(ApiKey.SyncGroup)[0]!.body as RequestOf<typeof ApiKey.SyncGroup>;
    const planned = new Map(
      sync.assignments.map((a) => [a.memberId, decodeAssignment(a.assignment).partitions]),
    );
    expect(planned.get('other')).toEqual([]);
    expect(planned.get('member-1')).toHaveLength(2);
    expect(joins()).toBe(1);
  });
});
