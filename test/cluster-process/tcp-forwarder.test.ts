/**
 * TransportForwarder over two real TcpTransports on loopback: a follower's metadata write reaches the
 * leader's store and its result (or error) comes back; Raft traffic on the same connection is untouched.
 */
import { pack } from 'msgpackr';
import { afterEach, describe, expect, it } from 'vitest';
import { isStreamBusError, StreamBusError } from '../../src/errors/index.js';
import type { ForwardTarget } from '../../src/metadata/forwarder.js';
import { FORWARD_GROUP_ID, TransportForwarder } from '../../src/metadata/tcp-forwarder.js';
import type { ApplyResult } from '../../src/metadata/types.js';
import type { Envelope } from '../../src/raft/codec.js';
import type { Message, NodeId } from '../../src/raft/core/types.js';
import { silentLogger } from '../../src/raft/logger.js';
import { TcpTransport } from '../../src/raft/transport/tcp-transport.js';
import { Deadline } from '../../src/resilience/deadline.js';

interface Pair {
  follower: TransportForwarder;
  leader: TransportForwarder;
  tcpFollower: TcpTransport;
  tcpLeader: TcpTransport;
}

const open: TcpTransport[] = [];

afterEach(async () => {
  await Promise.all(open.splice(0).map((t) => t.close()));
});

async function pair(target: ForwardTarget): Promise<Pair> {
  const tcpLeader = new TcpTransport({ nodeId: 2, host: '127.0.0.1', port: 0 });
  open.push(tcpLeader);
  const leaderAddress = await tcpLeader.listen();
  // Node 1 has the lower id, so it dials.
  const tcpFollower = new TcpTransport({
    nodeId: 1,
    host: '127.0.0.1',
    port: 0,
    peers: new Map([[2, leaderAddress]]),
  });
  open.push(tcpFollower);
  await tcpFollower.listen();
  tcpLeader.setPeer(1, { host: '127.0.0.1', port: 1 }); // known peer, never dialled (2 > 1)
  const follower = new TransportForwarder({
    nodeId: 1,
    transport: tcpFollower,
    handleTimeoutMs: 1_000,
    logger: silentLogger,
  });
  const leader = new TransportForwarder({
    nodeId: 2,
    transport: tcpLeader,
    handleTimeoutMs: 1_000,
    logger: silentLogger,
  });
  leader.setTarget(target);
  for (let i = 0; i < 200 && !(tcpFollower.isConnected(2) && tcpLeader.isConnected(1)); i++) {
    await new Promise((r) => setTimeout(r, 10));
  }
  expect(tcpFollower.isConnected(2)).toBe(true);
  return { follower, leader, tcpFollower, tcpLeader };
}

function deadline(): Deadline {
  return Deadline.fromTimeout(5_000);
}

async function rejection(p: Promise<unknown>): Promise<StreamBusError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof StreamBusError) return err;
    throw err;
  }
  throw new Error('expected a rejection');
}

describe('TransportForwarder', () => {
  it("hands the command bytes unchanged to the leader's store and returns its ApplyResult", async () => {
    const seen: Uint8Array[] = [];
    const result: ApplyResult = { ok: true, version: 7, unknownBrokerIds: [4] };
    const { follower } = await pair({
      handleForwarded: async (bytes) => {
        seen.push(bytes);
        return result;
      },
    });
    const command = new Uint8Array([1, 2, 3, 250]);
    expect(await follower.forward(2, command, deadline())).toEqual(result);
    expect(seen.map((b) => [...b])).toEqual([[...command]]);
  });

  it("carries the asker's remaining time: the leader side's deadline is never later than the asker's", async () => {
    const budgets: number[] = [];
    const { follower } = await pair({
      handleForwarded: async (_bytes, remote) => {
        budgets.push(remote?.remainingMs() ?? -1);
        return { ok: true, version: 1 };
      },
    });
    const asker = Deadline.fromTimeout(700);
    await follower.forward(2, new Uint8Array([1]), asker);
    expect(budgets).toHaveLength(1);
    expect(budgets[0]).toBeGreaterThan(0);
    expect(budgets[0]).toBeLessThanOrEqual(700); // the leader side's own bound is 1 s
    asker.dispose();
  });

  it('brings a domain rejection back as a value, like a local proposal', async () => {
    const rejected: ApplyResult = { ok: false, code: 'UNKNOWN_BROKER', message: 'no broker 9', version: 3 };
    const { follower } = await pair({ handleForwarded: async () => rejected });
    expect(await follower.forward(2, new Uint8Array([1]), deadline())).toEqual(rejected);
  });

  it("rethrows the leader's error with its code, keeping NOT_LEADER's leader hint", async () => {
    const { follower } = await pair({
      handleForwarded: async () => {
        throw new StreamBusError('NOT_LEADER', {
          operation: 'metadata.forwarded',
          metadata: { leaderId: 3 },
        });
      },
    });
    const err = await rejection(follower.forward(2, new Uint8Array([1]), deadline()));
    expect(err.code).toBe('NOT_LEADER');
    expect(err.metadata.leaderId).toBe(3);
  });

  it('fails at once with NETWORK_ERROR when there is no connection to the leader', async () => {
    const { follower } = await pair({ handleForwarded: async () => ({ ok: true, version: 1 }) });
    const err = await rejection(follower.forward(5, new Uint8Array([1]), deadline()));
    expect(err.code).toBe('NETWORK_ERROR');
  });

  it('fails with NETWORK_ERROR when the caller gives up on an unanswered forward', async () => {
    const { follower } = await pair({ handleForwarded: () => new Promise<ApplyResult>(() => {}) });
    const controller = new AbortController();
    const pending = follower.forward(
      2,
      new Uint8Array([1]),
      Deadline.fromTimeout(5_000, { parent: controller.signal }),
    );
    setTimeout(() => controller.abort(), 50);
    expect((await rejection(pending)).code).toBe('NETWORK_ERROR');
  });

  it('fails a forward whose answer is malformed with MALFORMED_FRAME', async () => {
    const { follower, tcpLeader } = await pair({ handleForwarded: () => new Promise<ApplyResult>(() => {}) });
    const pending = follower.forward(2, new Uint8Array([1]), deadline());
    const forged: Message = {
      type: 'app-resp',
      from: 2,
      to: 1,
      term: 0,
      logTerm: 0,
      index: 1, // the first forward's correlation id
      commit: 0,
      reject: false,
      rejectHint: 0,
      entries: [],
      context: pack({ ok: true, result: { ok: 'yes' } }),
    };
    tcpLeader.send(1, [{ groupId: FORWARD_GROUP_ID, message: forged }]);
    const err = await rejection(pending);
    expect(isStreamBusError(err, 'MALFORMED_FRAME')).toBe(true);
  });

  it("passes every other group's envelopes to the Raft handler and keeps forwarding ones away from it", async () => {
    const { follower, leader } = await pair({ handleForwarded: async () => ({ ok: true, version: 1 }) });
    const received: { from: NodeId; envelopes: readonly Envelope[] }[] = [];
    leader.raftTransport.onMessage((from, envelopes) => received.push({ from, envelopes }));
    const heartbeat: Message = {
      type: 'heartbeat',
      from: 1,
      to: 2,
      term: 4,
      logTerm: 0,
      index: 0,
      commit: 9,
      reject: false,
      rejectHint: 0,
      entries: [],
    };
    follower.raftTransport.send(2, [{ groupId: 'metadata', message: heartbeat }]);
    await follower.forward(2, new Uint8Array([1]), deadline());
    for (let i = 0; i < 100 && received.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(received).toHaveLength(1);
    expect(received[0]?.from).toBe(1);
    expect(received[0]?.envelopes).toEqual([{ groupId: 'metadata', message: heartbeat }]);
  });

  /**
   * A leader (2), a follower (1) that answers NOT_LEADER naming it, and a broker (5) that knows only the
   * follower and asks it, its join route naming `via` (empty: it is not looking for the leader).
   */
  async function redirectScene(via: readonly NodeId[]) {
    const result: ApplyResult = { ok: true, version: 11 };
    const tcpLeader = new TcpTransport({ nodeId: 2, host: '127.0.0.1', port: 0, acceptsUnknownPeers: true });
    const tcpVoter = new TcpTransport({ nodeId: 1, host: '127.0.0.1', port: 0, acceptsUnknownPeers: true });
    open.push(tcpLeader, tcpVoter);
    const leaderAddress = await tcpLeader.listen();
    const voterAddress = await tcpVoter.listen();
    // The joiner knows only voter 1 (its cluster.voters), and dials every peer it knows.
    const tcpJoiner = new TcpTransport({
      nodeId: 5,
      host: '127.0.0.1',
      port: 0,
      peers: new Map([[1, voterAddress]]),
      dialsAllPeers: true,
    });
    open.push(tcpJoiner);
    await tcpJoiner.listen();
    const commands: number[][] = [];
    const leader = new TransportForwarder({
      nodeId: 2,
      transport: tcpLeader,
      handleTimeoutMs: 1_000,
      logger: silentLogger,
    });
    leader.setTarget({
      handleForwarded: async (bytes) => {
        commands.push([...bytes]);
        return result;
      },
    });
    const voter = new TransportForwarder({
      nodeId: 1,
      transport: tcpVoter,
      handleTimeoutMs: 1_000,
      logger: silentLogger,
      peerAddressOf: (id) => (id === 2 ? leaderAddress : undefined),
    });
    voter.setTarget({
      handleForwarded: async () => {
        throw new StreamBusError('NOT_LEADER', {
          operation: 'metadata.forwarded',
          metadata: { leaderId: 2 },
        });
      },
    });
    const learned: NodeId[] = [];
    const joiner = new TransportForwarder({
      nodeId: 5,
      transport: tcpJoiner,
      handleTimeoutMs: 1_000,
      logger: silentLogger,
      join: {
        via: () => via,
        learnPeer: (id, address) => {
          learned.push(id);
          tcpJoiner.setPeer(id, address);
        },
      },
    });
    for (let i = 0; i < 200 && !tcpJoiner.isConnected(1); i++) await new Promise((r) => setTimeout(r, 10));
    expect(tcpJoiner.isConnected(2)).toBe(false);
    return { result, commands, learned, joiner, tcpJoiner };
  }

  it('a joiner that asked a follower is sent on to the leader it names: it dials it and gets the result', async () => {
    const { result, commands, learned, joiner, tcpJoiner } = await redirectScene([1]);
    expect(await joiner.forward(1, new Uint8Array([9, 8]), deadline())).toEqual(result);
    expect(commands).toEqual([[9, 8]]);
    expect(learned).toEqual([2]);
    expect(tcpJoiner.isConnected(2)).toBe(true);
  });

  it('a broker not looking for the leader (its join route names no voters) gets the NOT_LEADER back', async () => {
    const { commands, learned, joiner } = await redirectScene([]);
    const err = await rejection(joiner.forward(1, new Uint8Array([9, 8]), deadline()));
    expect(err.code).toBe('NOT_LEADER');
    expect(commands).toEqual([]);
    expect(learned).toEqual([]);
  });
});
