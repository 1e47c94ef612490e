/** The consumer group state machine's guarantees, one scenario each (Kafka's classic group protocol). */
import { describe, expect, it } from 'vitest';
import { GroupMachine } from '../../../src/broker/groups/group-machine.js';
import type { GroupEffect } from '../../../src/broker/groups/group-types.js';
import {
  joinAnswer,
  joinInput,
  kinds,
  options,
  proto,
  REBALANCE_MS,
  removals,
  SESSION_MS,
  stableGroup,
  syncAnswer,
  syncInput,
} from './group-machine-harness.js';

const hb = (memberId: string, generation: number, groupInstanceId: string | null = null) => ({
  groupId: 'g',
  memberId,
  groupInstanceId,
  generation,
});

describe('GroupMachine: forming a generation', () => {
  it('three members joining an empty group form one generation; the leader alone gets every subscription', () => {
    const m = new GroupMachine('g', options({ initialRebalanceDelayMs: 3_000 }));
    const reqs = ['a', 'b', 'c'].map((c) =>
      joinInput({ clientId: c, protocols: [proto('range', `sub-${c}`)] }),
    );
    expect(m.join(reqs[0]!, 0)).toEqual([]);
    expect(m.join(reqs[1]!, 100)).toEqual([]);
    expect(m.join(reqs[2]!, 200)).toEqual([]);
    expect(m.phase).toBe('PreparingRebalance');
    const effects = m.tick(3_200);
    expect(m.generation).toBe(1);
    expect(m.phase).toBe('CompletingRebalance');
    const answers = reqs.map((r) => joinAnswer(effects, r.requestId)!);
    expect(answers.map((a) => a.memberId)).toEqual(['a-1', 'b-2', 'c-3']);
    expect(new Set(answers.map((a) => a.generation))).toEqual(new Set([1]));
    expect(answers.every((a) => a.leaderId === 'a-1' && a.protocol === 'range' && a.error === null)).toBe(
      true,
    );
    expect(answers[0]!.members.map((x) => [x.memberId, x.metadata.toString()])).toEqual([
      ['a-1', 'sub-a'],
      ['b-2', 'sub-b'],
      ['c-3', 'sub-c'],
    ]);
    expect(answers[1]!.members).toEqual([]);
    expect(answers[2]!.members).toEqual([]);

    // Followers' syncs wait for the leader's.
    const syncB = syncInput('b-2', 1);
    const syncC = syncInput('c-3', 1);
    expect(m.sync(syncB, 3_300)).toEqual([]);
    expect(m.sync(syncC, 3_300)).toEqual([]);
    const leaderSync = syncInput('a-1', 1, [
      { memberId: 'a-1', assignment: Buffer.from('p0') },
      { memberId: 'b-2', assignment: Buffer.from('p1') },
    ]);
    const done = m.sync(leaderSync, 3_400);
    expect(kinds(done)).toEqual(['persist', 'rebalanced']);
    const persist = done[0]!;
    expect(persist.kind === 'persist' && persist.then.length).toBe(3);
    expect(syncAnswer(done, syncB.requestId)?.assignment.toString()).toBe('p1');
    // A member the leader left out gets an empty assignment, not a hang.
    expect(syncAnswer(done, syncC.requestId)?.assignment.length).toBe(0);
    expect(syncAnswer(done, leaderSync.requestId)?.assignment.toString()).toBe('p0');
    expect(done[1]).toEqual({ kind: 'rebalanced', generation: 1, members: 3, durationMs: 3_400 });
    expect(m.phase).toBe('Stable');
    // A late sync in Stable gets the stored assignment at once.
    expect(syncAnswer(m.sync(syncInput('b-2', 1), 3_500), -1)).toBeUndefined();
    const late = syncInput('b-2', 1);
    expect(syncAnswer(m.sync(late, 3_500), late.requestId)?.assignment.toString()).toBe('p1');
    // The persisted snapshot carries the generation and assignments.
    expect(
      persist.kind === 'persist' && persist.snapshot.members.map((x) => x.assignment.toString()),
    ).toEqual(['p0', 'p1', '']);
  });

  it('a new joiner extends the initial delay, but never past the rebalance timeout', () => {
    const m = new GroupMachine('g', options({ initialRebalanceDelayMs: 3_000 }));
    m.join(joinInput({ clientId: 'a', rebalanceTimeoutMs: 10_000 }), 0);
    expect(m.nextDeadlineMs()).toBe(3_000);
    m.join(joinInput({ clientId: 'b', rebalanceTimeoutMs: 10_000 }), 2_500);
    expect(m.nextDeadlineMs()).toBe(5_500);
    expect(m.tick(5_499)).toEqual([]);
    m.join(joinInput({ clientId: 'c', rebalanceTimeoutMs: 10_000 }), 5_000);
    expect(m.nextDeadlineMs()).toBe(8_000);
    m.join(joinInput({ clientId: 'd', rebalanceTimeoutMs: 10_000 }), 7_900);
    // 7_900 + 3_000 would pass the rebalance timeout (10_000 from the first join).
    expect(m.nextDeadlineMs()).toBe(10_000);
    expect(m.tick(9_999)).toEqual([]);
    expect(m.phase).toBe('PreparingRebalance');
    const effects = m.tick(10_000);
    expect(effects.filter((e) => e.kind === 'join-response')).toHaveLength(4);
    expect(m.generation).toBe(1);
  });

  it('a follower re-joining a stable group with unchanged protocols gets the current generation back', () => {
    const g = stableGroup([{ clientId: 'a' }, { clientId: 'b' }]);
    const follower = g.ids.find((id) => id !== g.leader)!;
    const req = joinInput({ memberId: follower, clientId: 'b' });
    const answer = joinAnswer(g.machine.join(req, g.nowMs + 10), req.requestId)!;
    expect(answer).toMatchObject({ error: null, generation: g.generation, leaderId: g.leader, members: [] });
    expect(g.machine.phase).toBe('Stable');
  });

  it('the leader re-joining a stable group starts a rebalance', () => {
    const g = stableGroup([{ clientId: 'a' }, { clientId: 'b' }]);
    expect(g.machine.join(joinInput({ memberId: g.leader, clientId: 'a' }), g.nowMs + 10)).toEqual([]);
    expect(g.machine.phase).toBe('PreparingRebalance');
  });

  it('a known member with changed protocols starts a rebalance', () => {
    const g = stableGroup([{ clientId: 'a' }, { clientId: 'b' }]);
    const follower = g.ids.find((id) => id !== g.leader)!;
    const req = joinInput({ memberId: follower, clientId: 'b', protocols: [proto('range', 'new-topics')] });
    expect(g.machine.join(req, g.nowMs)).toEqual([]);
    expect(g.machine.phase).toBe('PreparingRebalance');
  });

  it('picks the protocol most members prefer among those all support, ties to the leader’s order', () => {
    const m = new GroupMachine('g', options({ initialRebalanceDelayMs: 10 }));
    const a = joinInput({ clientId: 'a', protocols: [proto('sticky'), proto('range'), proto('rr')] });
    const b = joinInput({ clientId: 'b', protocols: [proto('range'), proto('rr')] });
    const c = joinInput({ clientId: 'c', protocols: [proto('rr'), proto('range')] });
    m.join(a, 0);
    m.join(b, 0);
    m.join(c, 0);
    // sticky is not common; votes: a->range, b->range, c->rr.
    expect(joinAnswer(m.tick(10), a.requestId)?.protocol).toBe('range');

    const tie = new GroupMachine('g', options({ initialRebalanceDelayMs: 10 }));
    const x = joinInput({ clientId: 'x', protocols: [proto('rr'), proto('range')] });
    const y = joinInput({ clientId: 'y', protocols: [proto('range'), proto('rr')] });
    tie.join(x, 0);
    tie.join(y, 0);
    expect(joinAnswer(tie.tick(10), x.requestId)?.protocol).toBe('rr');
  });

  it('refuses bad joins with the catalogue code and leaves the group untouched', () => {
    const g = stableGroup([{ clientId: 'a' }], options({ maxSize: 1, initialRebalanceDelayMs: 10 }));
    const m = g.machine;
    const answer = (over: Parameters<typeof joinInput>[0]) => {
      const r = joinInput(over);
      return joinAnswer(m.join(r, g.nowMs), r.requestId)?.error;
    };
    expect(answer({ sessionTimeoutMs: 999 })).toBe('INVALID_SESSION_TIMEOUT');
    expect(answer({ sessionTimeoutMs: 60_001 })).toBe('INVALID_SESSION_TIMEOUT');
    expect(answer({ memberId: 'nobody' })).toBe('UNKNOWN_MEMBER_ID');
    expect(answer({ protocolType: 'connect' })).toBe('INCONSISTENT_GROUP_PROTOCOL');
    expect(answer({ protocols: [proto('sticky')] })).toBe('INCONSISTENT_GROUP_PROTOCOL');
    expect(answer({ protocols: [] })).toBe('INCONSISTENT_GROUP_PROTOCOL');
    expect(answer({ clientId: 'b' })).toBe('GROUP_MAX_SIZE_REACHED');
    expect(m.phase).toBe('Stable');
    expect(m.memberCount).toBe(1);
    expect(m.generation).toBe(g.generation);
  });

  it("a session timeout out of range is refused naming the broker's bounds, which the member cannot know", () => {
    const m = new GroupMachine('g', options({ minSessionTimeoutMs: 1_000, maxSessionTimeoutMs: 60_000 }));
    const answer = (sessionTimeoutMs: number) => {
      const r = joinInput({ sessionTimeoutMs });
      return joinAnswer(m.join(r, 0), r.requestId);
    };
    expect(answer(500)).toMatchObject({
      error: 'INVALID_SESSION_TIMEOUT',
      errorMessage:
        "session timeout 500 ms is outside the broker's groups.session_timeout_min..max (1000..60000 ms)",
    });
    expect(answer(60_001)?.errorMessage).toContain('session timeout 60001 ms is outside');
  });
});

describe('GroupMachine: failure handling', () => {
  it('evicts a member that stops heartbeating; the others are told to rejoin and form generation+1', () => {
    const g = stableGroup([{ clientId: 'a' }, { clientId: 'b' }, { clientId: 'c' }]);
    const [a, b, c] = g.ids as [string, string, string];
    const m = g.machine;
    let t = g.nowMs;
    for (let i = 0; i < 3; i++) {
      t += 3_000;
      expect(m.heartbeat(hb(a, g.generation), t)).toBeNull();
      expect(m.heartbeat(hb(b, g.generation), t)).toBeNull();
      expect(m.tick(t)).toEqual([]);
    }
    // c's deadline: its last contact (the sync at g.nowMs) + session timeout.
    expect(m.nextDeadlineMs()).toBe(g.nowMs + SESSION_MS);
    const evicted = m.tick(g.nowMs + SESSION_MS);
    expect(removals(evicted)).toEqual([{ memberId: c, reason: 'session-timeout' }]);
    expect(m.phase).toBe('PreparingRebalance');
    t = g.nowMs + SESSION_MS + 1;
    expect(m.heartbeat(hb(a, g.generation), t)).toBe('REBALANCE_IN_PROGRESS');
    expect(m.heartbeat(hb(b, g.generation), t)).toBe('REBALANCE_IN_PROGRESS');
    const ja = joinInput({ memberId: a, clientId: 'a' });
    const jb = joinInput({ memberId: b, clientId: 'b' });
    expect(m.join(ja, t)).toEqual([]);
    const effects = m.join(jb, t);
    expect(joinAnswer(effects, ja.requestId)).toMatchObject({ generation: g.generation + 1, leaderId: a });
    expect(joinAnswer(effects, ja.requestId)?.members.map((x) => x.memberId)).toEqual([a, b]);
    expect(m.heartbeat(hb(c, g.generation), t)).toBe('UNKNOWN_MEMBER_ID');
  });

  it('the rebalance timeout removes members that never rejoin, even if they keep heartbeating', () => {
    const g = stableGroup([{ clientId: 'a' }, { clientId: 'b' }, { clientId: 'c' }]);
    const [a, b, c] = g.ids as [string, string, string];
    const m = g.machine;
    const start = g.nowMs + 1_000;
    const d = joinInput({ clientId: 'd' });
    expect(m.join(d, start)).toEqual([]);
    m.join(joinInput({ memberId: a, clientId: 'a' }), start + 100);
    m.join(joinInput({ memberId: b, clientId: 'b' }), start + 200);
    for (let t = start + 5_000; t < start + REBALANCE_MS; t += 5_000) {
      expect(m.heartbeat(hb(c, g.generation), t)).toBe('REBALANCE_IN_PROGRESS');
      expect(m.tick(t)).toEqual([]);
    }
    expect(m.nextDeadlineMs()).toBe(start + REBALANCE_MS);
    const effects = m.tick(start + REBALANCE_MS);
    expect(removals(effects)).toEqual([{ memberId: c, reason: 'rebalance-timeout' }]);
    expect(m.generation).toBe(g.generation + 1);
    expect(joinAnswer(effects, d.requestId)).toMatchObject({ error: null, generation: g.generation + 1 });
    expect(m.memberCount).toBe(3);
  });

  it('a leader that never syncs: the group rebalances after the rebalance timeout and waiting syncs learn it', () => {
    const m = new GroupMachine('g', options({ initialRebalanceDelayMs: 10 }));
    const a = joinInput({ clientId: 'a' });
    const b = joinInput({ clientId: 'b' });
    m.join(a, 0);
    m.join(b, 0);
    m.tick(10);
    const follower = syncInput('b-2', 1);
    expect(m.sync(follower, 20)).toEqual([]);
    let t = 20;
    while (t + 3_000 < 10 + REBALANCE_MS) {
      t += 3_000;
      expect(m.heartbeat(hb('a-1', 1), t)).toBeNull();
      m.tick(t);
    }
    expect(m.nextDeadlineMs()).toBe(10 + REBALANCE_MS);
    const effects = m.tick(10 + REBALANCE_MS);
    expect(syncAnswer(effects, follower.requestId)?.error).toBe('REBALANCE_IN_PROGRESS');
    expect(m.phase).toBe('PreparingRebalance');
  });

  it('leave removes the member, answers its waiting join, and starts a rebalance', () => {
    const g = stableGroup([{ clientId: 'a' }, { clientId: 'b' }, { clientId: 'c' }]);
    const [a, b, c] = g.ids as [string, string, string];
    const m = g.machine;
    const out = m.leave(
      {
        groupId: 'g',
        members: [
          { memberId: b, groupInstanceId: null },
          { memberId: 'ghost', groupInstanceId: null },
          { memberId: c, groupInstanceId: 'not-c' },
        ],
      },
      g.nowMs + 1,
    );
    expect(out.results.map((r) => r.error)).toEqual([null, 'UNKNOWN_MEMBER_ID', 'FENCED_INSTANCE_ID']);
    expect(removals(out.effects)).toEqual([{ memberId: b, reason: 'left' }]);
    expect(m.phase).toBe('PreparingRebalance');
    expect(m.heartbeat(hb(a, g.generation), g.nowMs + 2)).toBe('REBALANCE_IN_PROGRESS');

    const ja = joinInput({ memberId: a, clientId: 'a' });
    m.join(ja, g.nowMs + 3);
    const left = m.leave({ groupId: 'g', members: [{ memberId: a, groupInstanceId: null }] }, g.nowMs + 4);
    expect(joinAnswer(left.effects, ja.requestId)?.error).toBe('UNKNOWN_MEMBER_ID');
    // c is the only one left and did not rejoin yet: no completion until it does.
    expect(m.phase).toBe('PreparingRebalance');
    const lastOut = m.leave({ groupId: 'g', members: [{ memberId: c, groupInstanceId: null }] }, g.nowMs + 5);
    // Everyone gone: Empty, generation still moves on, and the empty group is persisted.
    expect(m.phase).toBe('Empty');
    expect(m.generation).toBe(g.generation + 1);
    const persist = lastOut.effects.find((e) => e.kind === 'persist');
    expect(persist?.kind === 'persist' && persist.snapshot).toMatchObject({
      generation: g.generation + 1,
      members: [],
      leaderId: null,
      protocol: null,
    });
  });

  it('LeaveGroup by instance id alone removes the static member holding it', () => {
    const g = stableGroup([{ clientId: 'a' }, { clientId: 'b', groupInstanceId: 'ib' }]);
    const [, b] = g.ids as [string, string];
    const out = g.machine.leave(
      {
        groupId: 'g',
        members: [
          { memberId: '', groupInstanceId: 'ib' },
          { memberId: '', groupInstanceId: 'nope' },
        ],
      },
      g.nowMs,
    );
    expect(out.results.map((r) => r.error)).toEqual([null, 'UNKNOWN_MEMBER_ID']);
    expect(removals(out.effects)).toEqual([{ memberId: b, reason: 'left' }]);
    expect(g.machine.memberCount).toBe(1);
  });

  it('persistFailed answers the syncs riding on that write with COORDINATOR_NOT_AVAILABLE and rebalances', () => {
    const m = new GroupMachine('g', options({ initialRebalanceDelayMs: 10 }));
    m.join(joinInput({ clientId: 'a' }), 0);
    m.join(joinInput({ clientId: 'b' }), 0);
    m.tick(10);
    const sb = syncInput('b-2', 1);
    const sa = syncInput('a-1', 1, [{ memberId: 'b-2', assignment: Buffer.from('x') }]);
    m.sync(sb, 20);
    m.sync(sa, 30);
    expect(m.phase).toBe('Stable');
    expect(m.persistFailed(0, 40)).toEqual([]);
    const effects = m.persistFailed(1, 40);
    expect(syncAnswer(effects, sa.requestId)?.error).toBe('COORDINATOR_NOT_AVAILABLE');
    expect(syncAnswer(effects, sb.requestId)?.error).toBe('COORDINATOR_NOT_AVAILABLE');
    expect(m.phase).toBe('PreparingRebalance');
    // Reported twice, answered once.
    expect(m.persistFailed(1, 50)).toEqual([]);
  });

  it('a join or sync sent again while the first still waits supersedes it: the older one is answered', () => {
    const m = new GroupMachine('g', options({ initialRebalanceDelayMs: 1_000 }));
    const first = joinInput({ clientId: 'a' });
    m.join(first, 0);
    m.join(joinInput({ clientId: 'b' }), 0);
    const again = joinInput({ memberId: 'a-1', clientId: 'a' });
    expect(joinAnswer(m.join(again, 10), first.requestId)?.error).toBe('REBALANCE_IN_PROGRESS');
    const done = m.tick(1_000);
    expect(joinAnswer(done, again.requestId)).toMatchObject({ error: null, generation: 1 });
    expect(joinAnswer(done, first.requestId)).toBeUndefined();

    const sync1 = syncInput('b-2', 1);
    const sync2 = syncInput('b-2', 1);
    m.sync(sync1, 1_100);
    expect(syncAnswer(m.sync(sync2, 1_200), sync1.requestId)?.error).toBe('REBALANCE_IN_PROGRESS');
    const leader = m.sync(syncInput('a-1', 1, [{ memberId: 'b-2', assignment: Buffer.from('p') }]), 1_300);
    expect(syncAnswer(leader, sync2.requestId)?.assignment.toString()).toBe('p');
  });

  it('shutdown answers every waiting join and sync NOT_COORDINATOR and refuses what comes after', () => {
    const m = new GroupMachine('g', options({ initialRebalanceDelayMs: 1_000 }));
    const a = joinInput({ clientId: 'a' });
    m.join(a, 0);
    const effects = m.shutdown();
    expect(joinAnswer(effects, a.requestId)?.error).toBe('NOT_COORDINATOR');
    expect(m.phase).toBe('Dead');
    expect(m.nextDeadlineMs()).toBeNull();
    expect(m.heartbeat(hb('a-1', 0), 1)).toBe('NOT_COORDINATOR');
    const late = joinInput({ clientId: 'b' });
    expect(joinAnswer(m.join(late, 1), late.requestId)?.error).toBe('NOT_COORDINATOR');
  });
});

describe('GroupMachine: static membership', () => {
  const statics = [
    { clientId: 'a', groupInstanceId: 'ia' },
    { clientId: 'b', groupInstanceId: 'ib' },
  ];

  it('a static member back within its session timeout keeps the generation and inherits its assignment', () => {
    const g = stableGroup(statics);
    const [a, b] = g.ids as [string, string];
    const m = g.machine;
    const rejoin = joinInput({ clientId: 'b', groupInstanceId: 'ib' });
    const effects = m.join(rejoin, g.nowMs + 5_000);
    const answer = joinAnswer(effects, rejoin.requestId)!;
    expect(answer.error).toBeNull();
    expect(answer.generation).toBe(g.generation);
    expect(answer.memberId).not.toBe(b);
    expect(answer.members).toEqual([]);
    expect(removals(effects)).toEqual([{ memberId: b, reason: 'fenced' }]);
    expect(m.phase).toBe('Stable');
    expect(m.generation).toBe(g.generation);
    const sync = syncInput(answer.memberId, g.generation, [], 'ib');
    expect(syncAnswer(m.sync(sync, g.nowMs + 5_001), sync.requestId)?.assignment.toString()).toBe(`a:${b}`);
    expect(m.heartbeat(hb(a, g.generation, 'ia'), g.nowMs + 5_002)).toBeNull();
  });

  it('a static replacement is persisted before it is answered: a coordinator restored from that snapshot knows the new id', () => {
    const g = stableGroup(statics);
    const m = g.machine;
    const rejoin = joinInput({ clientId: 'b', groupInstanceId: 'ib' });
    const effects = m.join(rejoin, g.nowMs + 5_000);
    const persist = effects.find((e) => e.kind === 'persist');
    expect(persist).toBeDefined();
    if (persist?.kind !== 'persist') return;
    // The answer waits for the write; the snapshot already names the new member for the instance id.
    expect(effects.some((e) => e.kind === 'join-response')).toBe(false);
    const answer = joinAnswer(persist.then, rejoin.requestId)!;
    expect(persist.snapshot.members.find((x) => x.groupInstanceId === 'ib')?.memberId).toBe(answer.memberId);
    const restored = GroupMachine.restore(persist.snapshot, options(), g.nowMs + 6_000);
    expect(restored.heartbeat(hb(answer.memberId, g.generation, 'ib'), g.nowMs + 6_001)).toBeNull();
    // If the write fails the member is told to join again rather than keep an id nobody durable knows.
    expect(joinAnswer(persist.otherwise ?? [], rejoin.requestId)?.error).toBe('COORDINATOR_NOT_AVAILABLE');
  });

  it('a static leader coming back gets the member list with skipAssignment and stays leader', () => {
    const g = stableGroup(statics);
    const rejoin = joinInput({ clientId: 'a', groupInstanceId: 'ia' });
    const answer = joinAnswer(g.machine.join(rejoin, g.nowMs + 1), rejoin.requestId)!;
    expect(answer.skipAssignment).toBe(true);
    expect(answer.leaderId).toBe(answer.memberId);
    expect(answer.members.map((x) => x.groupInstanceId)).toEqual(['ia', 'ib']);
    expect(g.machine.describe().leaderId).toBe(answer.memberId);
    expect(g.machine.generation).toBe(g.generation);
  });

  it('the replaced static member id is fenced on every request, and its waiting join is answered fenced', () => {
    const g = stableGroup(statics);
    const [a, b] = g.ids as [string, string];
    const m = g.machine;
    // a rejoins with a new subscription: a rebalance starts and a's join waits at the barrier.
    const waiting = joinInput({
      memberId: a,
      clientId: 'a',
      groupInstanceId: 'ia',
      protocols: [proto('range', 'v2')],
    });
    expect(m.join(waiting, g.nowMs + 1)).toEqual([]);
    const replacement = joinInput({
      clientId: 'a',
      groupInstanceId: 'ia',
      protocols: [proto('range', 'v2')],
    });
    const effects = m.join(replacement, g.nowMs + 2);
    expect(joinAnswer(effects, waiting.requestId)?.error).toBe('FENCED_INSTANCE_ID');
    expect(m.heartbeat(hb(a, g.generation, 'ia'), g.nowMs + 3)).toBe('FENCED_INSTANCE_ID');
    const s = syncInput(a, g.generation, [], 'ia');
    expect(syncAnswer(m.sync(s, g.nowMs + 3), s.requestId)?.error).toBe('FENCED_INSTANCE_ID');
    expect(
      m.validateCommit({ memberId: a, groupInstanceId: 'ia', generation: g.generation }, g.nowMs + 3),
    ).toBe('FENCED_INSTANCE_ID');
    const j = joinInput({ memberId: a, clientId: 'a', groupInstanceId: 'ia' });
    expect(joinAnswer(m.join(j, g.nowMs + 3), j.requestId)?.error).toBe('FENCED_INSTANCE_ID');
    // A known member id claiming another instance id is fenced as well.
    expect(m.heartbeat(hb(b, g.generation, 'ia'), g.nowMs + 3)).toBe('FENCED_INSTANCE_ID');
    // The replacement takes part in the rebalance under its new id, in the old one's place (still leader).
    const newA = m.describe().members.find((x) => x.groupInstanceId === 'ia')?.memberId;
    expect(newA).not.toBe(a);
    expect(m.describe().leaderId).toBe(newA);
    const jb = joinInput({ memberId: b, clientId: 'b', groupInstanceId: 'ib' });
    const done = m.join(jb, g.nowMs + 4);
    expect(joinAnswer(done, replacement.requestId)).toMatchObject({
      generation: g.generation + 1,
      leaderId: newA,
    });
    expect(joinAnswer(done, replacement.requestId)?.members.map((x) => x.memberId)).toEqual([newA, b]);
  });

  it('after a failover a static member rejoining with its full protocol list keeps generation and assignment', () => {
    const g = stableGroup([
      { clientId: 'a', groupInstanceId: 'ia' },
      { clientId: 'b', groupInstanceId: 'ib' },
    ]);
    const [, b] = g.ids as [string, string];
    const m = GroupMachine.restore(g.machine.snapshot(g.nowMs), options(), 1_000_000);
    // The snapshot only knows the chosen protocol; the client sends everything it supports.
    const rejoin = joinInput({
      clientId: 'b',
      groupInstanceId: 'ib',
      protocols: [proto('range'), proto('rr')],
    });
    const answer = joinAnswer(m.join(rejoin, 1_000_001), rejoin.requestId);
    expect(answer).toMatchObject({ error: null, generation: g.generation });
    expect(m.phase).toBe('Stable');
    const s = syncInput(answer?.memberId ?? '', g.generation, [], 'ib');
    expect(syncAnswer(m.sync(s, 1_000_002), s.requestId)?.assignment.toString()).toBe(`a:${b}`);
    // Different subscription bytes (a restarted member's carry nothing owned) keep the generation too.
    const restarted = joinInput({
      clientId: 'a',
      groupInstanceId: 'ia',
      protocols: [proto('range', 'other')],
    });
    expect(joinAnswer(m.join(restarted, 1_000_003), restarted.requestId)).toMatchObject({
      error: null,
      generation: g.generation,
    });
    expect(m.phase).toBe('Stable');
    // A rejoin that changes which protocol the vote picks cannot keep the old assignment.
    const changed = joinInput({ clientId: 'a', groupInstanceId: 'ia', protocols: [proto('rr')] });
    expect(m.join(changed, 1_000_004)).toMatchObject([{ kind: 'member-removed', reason: 'fenced' }]);
    expect(m.phase).toBe('PreparingRebalance');
  });
});

describe('GroupMachine: offset commit checks', () => {
  it('validateCommit answers as Kafka in every phase', () => {
    const empty = new GroupMachine('g', options());
    expect(empty.validateCommit({ memberId: '', groupInstanceId: null, generation: -1 }, 0)).toBeNull();
    expect(empty.validateCommit({ memberId: 'x', groupInstanceId: null, generation: 0 }, 0)).toBe(
      'UNKNOWN_MEMBER_ID',
    );

    const g = stableGroup([{ clientId: 'a' }, { clientId: 'b', groupInstanceId: 'ib' }]);
    const [a, b] = g.ids as [string, string];
    const m = g.machine;
    const commit = (memberId: string, generation: number, groupInstanceId: string | null = null) =>
      m.validateCommit({ memberId, groupInstanceId, generation }, g.nowMs + 1);
    // Stable
    expect(commit('', -1)).toBe('UNKNOWN_MEMBER_ID');
    expect(commit(a, g.generation)).toBeNull();
    expect(commit(b, g.generation, 'ib')).toBeNull();
    expect(commit('ghost', g.generation)).toBe('UNKNOWN_MEMBER_ID');
    expect(commit(a, g.generation, 'ib')).toBe('FENCED_INSTANCE_ID');
    expect(commit(a, g.generation - 1)).toBe('ILLEGAL_GENERATION');
    // PreparingRebalance: members may still commit what they are about to revoke.
    m.join(joinInput({ clientId: 'c' }), g.nowMs + 2);
    expect(m.phase).toBe('PreparingRebalance');
    expect(commit(a, g.generation)).toBeNull();
    expect(commit(a, g.generation + 1)).toBe('ILLEGAL_GENERATION');
    // CompletingRebalance: the new generation has no assignment yet.
    m.join(joinInput({ memberId: a, clientId: 'a' }), g.nowMs + 3);
    m.join(joinInput({ memberId: b, clientId: 'b', groupInstanceId: 'ib' }), g.nowMs + 3);
    expect(m.phase).toBe('CompletingRebalance');
    expect(commit(a, g.generation + 1)).toBe('REBALANCE_IN_PROGRESS');
    expect(commit(a, g.generation)).toBe('ILLEGAL_GENERATION');
  });

  it('a valid commit counts as a heartbeat', () => {
    const g = stableGroup([{ clientId: 'a' }]);
    const m = g.machine;
    const [a] = g.ids as [string];
    expect(
      m.validateCommit({ memberId: a, groupInstanceId: null, generation: g.generation }, g.nowMs + 9_000),
    ).toBeNull();
    expect(m.tick(g.nowMs + SESSION_MS)).toEqual([]);
    expect(m.nextDeadlineMs()).toBe(g.nowMs + 9_000 + SESSION_MS);
  });
});

describe('GroupMachine: failover and timers', () => {
  it('a restored group keeps its members and generation, and times them out if they never come back', () => {
    const g = stableGroup([{ clientId: 'a' }, { clientId: 'b', groupInstanceId: 'ib' }]);
    const [a, b] = g.ids as [string, string];
    const snap = g.machine.snapshot(g.nowMs);
    const restoredAt = 50_000;
    const m = GroupMachine.restore(snap, options(), restoredAt);
    expect(m.phase).toBe('Stable');
    expect(m.generation).toBe(g.generation);
    expect(m.describe().members.map((x) => [x.memberId, x.assignment.toString()])).toEqual([
      [a, `a:${a}`],
      [b, `a:${b}`],
    ]);
    expect(m.heartbeat(hb(b, g.generation, 'ib'), restoredAt + 1)).toBeNull();
    expect(m.nextDeadlineMs()).toBe(restoredAt + SESSION_MS);
    const first = m.tick(restoredAt + SESSION_MS);
    expect(removals(first)).toEqual([{ memberId: a, reason: 'session-timeout' }]);
    const second = m.tick(restoredAt + 1 + SESSION_MS);
    expect(removals(second)).toEqual([{ memberId: b, reason: 'session-timeout' }]);
    expect(m.phase).toBe('Empty');
    expect(m.generation).toBe(g.generation + 1);
    expect(kinds(second)).toContain('persist');
  });

  it('restoring an empty snapshot gives an Empty group that accepts generation -1 commits', () => {
    const m = GroupMachine.restore(
      {
        groupId: 'g',
        generation: 7,
        protocolType: 'consumer',
        protocol: null,
        leaderId: null,
        members: [],
        writtenAtMs: 1,
      },
      options(),
      100,
    );
    expect(m.phase).toBe('Empty');
    expect(m.generation).toBe(7);
    expect(m.nextDeadlineMs()).toBeNull();
    expect(m.validateCommit({ memberId: '', groupInstanceId: null, generation: -1 }, 100)).toBeNull();
  });

  it('nextDeadlineMs is exactly when tick next acts, in every phase', () => {
    const m = new GroupMachine('g', options({ initialRebalanceDelayMs: 500 }));
    const steps: string[] = [];
    const advance = (): GroupEffect[] => {
      const due = m.nextDeadlineMs();
      expect(due).not.toBeNull();
      const before = JSON.stringify([m.phase, m.generation, m.memberCount, m.nextDeadlineMs()]);
      expect(m.tick(due! - 1)).toEqual([]);
      expect(JSON.stringify([m.phase, m.generation, m.memberCount, m.nextDeadlineMs()])).toBe(before);
      const effects = m.tick(due!);
      const after = JSON.stringify([m.phase, m.generation, m.memberCount, m.nextDeadlineMs()]);
      expect(effects.length > 0 || after !== before).toBe(true);
      steps.push(m.phase);
      return effects;
    };
    m.join(joinInput({ clientId: 'a' }), 0);
    m.join(joinInput({ clientId: 'b', rebalanceTimeoutMs: 20_000 }), 0);
    advance(); // the initial delay ends -> CompletingRebalance
    m.sync(syncInput('b-2', 1), 600); // b waits on the leader, which then goes silent
    advance(); // a's session ends -> PreparingRebalance (b's sync answered)
    advance(); // b never rejoins: its session ends too -> Empty
    expect(steps).toEqual(['CompletingRebalance', 'PreparingRebalance', 'Empty']);
    expect(m.nextDeadlineMs()).toBeNull();
  });
});
