/** Quiescence (RaftCore.quiesce): idle groups stop heartbeating, and wake on anything that matters. */
import { describe, expect, it } from 'vitest';
import { decodeEnvelopes, encodeEnvelopeChunks, encodeEnvelopes } from '../../src/raft/codec.js';
import { newMessage, stopNotice } from '../../src/raft/core/messages.js';
import { LOST_LEADER_CAMPAIGN_TICKS_MAX } from '../../src/raft/core/raft.js';
import { NONE, type NodeId } from '../../src/raft/core/types.js';
import { quietTick } from '../../src/raft/quiet-tick.js';
import { TestCluster } from './harness.js';

const everyoneLive = (): boolean => true;

/** A 3-node cluster with quiescence on, node 1 leading and one entry committed everywhere. */
function idleCluster(): TestCluster {
  const c = new TestCluster([1, 2, 3], { quiesce: true });
  c.campaign(1);
  c.propose(1, 'a');
  c.tickAll(1); // heartbeat answers: every follower recently active
  return c;
}

function quiesce(
  c: TestCluster,
  leader: NodeId = 1,
  isLive: (id: NodeId) => boolean = everyoneLive,
): boolean {
  const went = c.core(leader).quiesce(isLive);
  c.flush();
  return went;
}

/** Whether the leader (node 1) counts `id` as recently active. */
const activeOf = (c: TestCluster, id: NodeId): boolean | undefined =>
  c
    .core(1)
    .progress()
    .find((p) => p.id === id)?.recentActive;

describe('quiescence', () => {
  it('an idle, whole group goes quiet: no message at all over many ticks, same leader and term', () => {
    const c = idleCluster();
    const term = c.core(1).term;
    expect(quiesce(c)).toBe(true);
    expect([1, 2, 3].map((id) => c.core(id).quiesced)).toEqual([true, true, true]);
    const sent = c.sent.length;
    c.tickAll(100); // ten election timeouts
    expect(c.sent.length).toBe(sent);
    expect(c.leaders()).toEqual([1]);
    expect(c.core(1).term).toBe(term);
    expect(c.core(2).leaderInLease()).toBe(1);
    expect(c.core(3).leaderInLease()).toBe(1);
  });

  it('without it, the same idle group heartbeats every tick (what quiescence saves)', () => {
    const c = idleCluster();
    const sent = c.sent.length;
    c.tickAll(10);
    // A heartbeat and its answer per follower per tick.
    expect(c.sent.length - sent).toBe(10 * 2 * 2);
  });

  it('is off unless configured, and only a leader goes quiet', () => {
    const c = new TestCluster([1, 2, 3]);
    c.campaign(1);
    c.tickAll(1);
    expect(quiesce(c)).toBe(false);
    const q = idleCluster();
    expect(quiesce(q, 2)).toBe(false);
  });

  it('stays awake while a member lags, is not heard from, or anything is under way', () => {
    const lagging = idleCluster();
    lagging.cutLink(1, 3);
    lagging.propose(1, 'b');
    expect(quiesce(lagging)).toBe(false);

    const silent = idleCluster();
    expect(quiesce(silent, 1, (id) => id !== 3)).toBe(false);

    const reading = idleCluster();
    reading.cutLink(2, 1);
    reading.cutLink(3, 1);
    reading.core(1).readIndex(new Uint8Array([7]));
    reading.flush();
    expect(quiesce(reading)).toBe(false);

    const transferring = idleCluster();
    transferring.cutLink(1, 2);
    transferring.core(1).transferLeadership(2);
    transferring.flush();
    expect(quiesce(transferring)).toBe(false);

    // A follower the leader has not heard from since its last check-quorum round.
    const inactive = idleCluster();
    inactive.cutLink(3, 1);
    inactive.tick(1, 10); // the check-quorum round clears recentActive; 3's answers do not arrive
    expect(quiesce(inactive)).toBe(false);
  });

  it('a proposal wakes the group, commits everywhere, and the group can go quiet again', () => {
    const c = idleCluster();
    quiesce(c);
    c.propose(1, 'b');
    expect([1, 2, 3].map((id) => c.core(id).quiesced)).toEqual([false, false, false]);
    expect([1, 2, 3].map((id) => c.appliedData(id))).toEqual([
      ['a', 'b'],
      ['a', 'b'],
      ['a', 'b'],
    ]);
    c.tickAll(1);
    expect(quiesce(c)).toBe(true);
  });

  it("a quiet follower wakes on the leader's ordinary heartbeat (the leader woke)", () => {
    const c = idleCluster();
    quiesce(c);
    c.cutLink(1, 3);
    c.core(1).readIndex(new Uint8Array([1])); // wakes the leader; its read heartbeats at once
    c.flush();
    expect(c.core(2).quiesced).toBe(false);
    expect(c.core(3).quiesced).toBe(true); // its link is cut: it heard nothing
  });

  it('a restarted follower is not quiet: its pre-vote wakes the leader, which it then follows, in the same term', () => {
    const c = idleCluster();
    quiesce(c);
    const term = c.core(1).term;
    c.restart(3);
    expect(c.core(3).quiesced).toBe(false);
    expect(c.core(3).leaderId).toBe(NONE);
    c.tick(3, 20); // past its election timeout: pre-votes; node 2 (in lease) refuses, node 1 wakes
    expect(c.core(3).leaderId).toBe(1);
    expect(c.leaders()).toEqual([1]);
    expect(c.core(1).term).toBe(term);
    c.tickAll(1);
    expect(quiesce(c)).toBe(true);
    expect(c.core(3).quiesced).toBe(true);
  });

  it("followers whose quiet leader's process went silent elect another within a few ticks", () => {
    const c = idleCluster();
    quiesce(c);
    const term = c.core(1).term;
    c.isolate(1);
    const leaderGone = (id: NodeId): boolean => id !== 1;
    for (const id of [2, 3]) {
      expect(c.core(id).silentPeer(leaderGone)).toBe(1);
      c.core(id).peerLost(1); // what the driver does with silentPeer's answer
    }
    expect(c.core(2).quiesced).toBe(false);
    const { leader, rounds } = c.ticksUntilLeader([2, 3]);
    expect(leader).toBeDefined();
    expect(rounds).toBeLessThanOrEqual(LOST_LEADER_CAMPAIGN_TICKS_MAX);
    expect(c.core(leader ?? 0).term).toBe(term + 1);
  });

  it('a quiet leader names a silent member, wakes on it, and then steps down if it lost its quorum', () => {
    const c = idleCluster();
    quiesce(c);
    expect(c.core(1).silentPeer(everyoneLive)).toBe(NONE);
    expect(c.core(1).silentPeer((id) => id !== 2)).toBe(2);
    c.isolate(1);
    c.core(1).peerLost(2);
    expect(c.core(1).quiesced).toBe(false);
    c.tick(1, 25); // two check-quorum rounds without answers
    expect(c.core(1).role).toBe('follower');
  });

  it("a follower told its leader's group stopped (its process lives on) campaigns within a few ticks", () => {
    const c = idleCluster();
    quiesce(c);
    c.isolate(1);
    c.core(2).step(stopNotice(1, 2));
    expect(c.core(2).quiesced).toBe(false);
    expect(c.core(2).leaderInLease()).toBe(NONE);
    c.core(3).step(stopNotice(1, 3));
    const { leader, rounds } = c.ticksUntilLeader([2, 3]);
    expect(leader).toBeDefined();
    expect(rounds).toBeLessThanOrEqual(LOST_LEADER_CAMPAIGN_TICKS_MAX);
  });

  it("a leader told a member's group stopped wakes and does not go quiet again until it answers", () => {
    const c = idleCluster();
    quiesce(c);
    c.cutLink(1, 3);
    c.cutLink(3, 1);
    c.core(1).step(stopNotice(3, 1));
    c.flush();
    expect(c.core(1).quiesced).toBe(false);
    expect(
      c
        .core(1)
        .progress()
        .find((p) => p.id === 3)?.recentActive,
    ).toBe(false);
    c.tickAll(1);
    expect(quiesce(c)).toBe(false);
    c.heal();
    c.tickAll(1);
    expect(quiesce(c)).toBe(true);
  });

  it('a member that reaches the leader but no longer hears it wakes it, and is not counted active again', () => {
    const c = idleCluster();
    quiesce(c);
    c.cutLink(1, 3); // one way: 3's messages still arrive
    expect(c.core(3).silentPeer((id) => id !== 1)).toBe(1);
    c.core(3).peerLost(1);
    c.tick(3, LOST_LEADER_CAMPAIGN_TICKS_MAX); // its pre-vote wakes the leader
    expect(c.core(1).quiesced).toBe(false);
    expect(activeOf(c, 3)).toBe(false);
    // The host still hears 3's process: only 3's missing answers keep the group awake.
    c.tick(1);
    expect(quiesce(c)).toBe(false);
  });

  it("a quiet follower woken by a rival's pre-vote still campaigns soon once its host finds the leader silent", () => {
    // Node 2's host notices the paused leader first; node 3's last keepalive from it arrived a little later,
    // so node 3 refuses 2's pre-vote (in lease) and is awake from then on: quiet or not, a silent leader must
    // still make it campaign within a few ticks, not after a whole election timeout from its wake.
    const c = idleCluster();
    quiesce(c);
    const term = c.core(1).term;
    c.isolate(1);
    let node3HearsLeader = true;
    const heard = (from: NodeId, to: NodeId): boolean => from !== 1 || (to === 3 && node3HearsLeader);
    let ticksAfterNode3Notices = 0;
    const newLeader = () => [2, 3].find((id) => c.core(id).role === 'leader');
    for (let i = 0; i < 60 && newLeader() === undefined; i++) {
      for (const id of [2, 3]) quietTick(c.core(id), (peer) => heard(peer, id), false);
      c.flush();
      if (!node3HearsLeader) ticksAfterNode3Notices++;
      if (!c.core(3).quiesced) node3HearsLeader = false; // woken by 2's pre-vote; its host notices soon after
    }
    expect(newLeader()).toBeDefined();
    expect(c.core(newLeader() ?? 0).term).toBeGreaterThan(term);
    expect(ticksAfterNode3Notices).toBeLessThanOrEqual(LOST_LEADER_CAMPAIGN_TICKS_MAX + 2);
  });

  it("a quiet follower's ping is the quiet exchange: a live quiet leader stays asleep and answers nothing", () => {
    const c = idleCluster();
    quiesce(c);
    const sent = c.sent.length;
    c.core(2).pingQuietLeader();
    c.flush();
    expect(c.sent.length).toBe(sent + 1);
    expect(c.sent[sent]).toMatchObject({ type: 'heartbeat-resp', from: 2, to: 1, term: c.core(1).term });
    expect([1, 2, 3].map((id) => c.core(id).quiesced)).toEqual([true, true, true]);
  });

  it('a lost quiet heartbeat costs a pre-vote that wakes the leader, never a new term', () => {
    const c = idleCluster();
    const term = c.core(1).term;
    c.drop = (m) => m.quiesce === true && m.to === 3;
    quiesce(c);
    c.drop = () => false;
    expect(c.core(3).quiesced).toBe(false);
    c.tick(3, 20);
    expect(c.core(1).quiesced).toBe(false);
    expect(c.leaders()).toEqual([1]);
    expect(c.core(1).term).toBe(term);
    expect(c.core(3).leaderId).toBe(1);
  });

  it('the quiet heartbeat travels as a 13th message field; every other message keeps its 12-field bytes', () => {
    const quiet = newMessage('heartbeat', 1, 2, { term: 3, commit: 9, quiesce: true });
    const plain = newMessage('heartbeat', 1, 2, { term: 3, commit: 9 });
    const envs = [
      { groupId: 'orders/0', message: quiet },
      { groupId: 'orders/1', message: plain },
    ];
    const decoded = decodeEnvelopes(encodeEnvelopes(envs));
    expect(decoded.map((e) => e.message.quiesce === true)).toEqual([true, false]);
    expect(decoded[0]!.message.commit).toBe(9);
    expect(Buffer.concat(encodeEnvelopeChunks(envs))).toEqual(encodeEnvelopes(envs));
    const plainBytes = encodeEnvelopes([{ groupId: 'g', message: plain }]);
    // fixarray of 12 (0x9c) for the message: what decoders before quiescence read.
    expect(plainBytes.includes(0x9c)).toBe(true);
    expect(plainBytes.includes(0x9d)).toBe(false);
  });
});
