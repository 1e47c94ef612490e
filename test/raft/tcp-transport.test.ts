import { connect, createServer, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { type Envelope, type NodeId, newMessage } from '../../src/raft/index.js';
import type { RaftLogger } from '../../src/raft/logger.js';
import { TcpTransport } from '../../src/raft/transport/tcp-transport.js';
import { waitFor } from './node-helpers.js';

const open: TcpTransport[] = [];
afterEach(async () => {
  for (const t of open.splice(0)) await t.close();
});

/** What a transport logged at info and above: [message, fields]. */
function recordingLogger(): { logger: RaftLogger; lines: [string, Record<string, unknown>][] } {
  const lines: [string, Record<string, unknown>][] = [];
  const record = (obj: Record<string, unknown>, msg: string): void => {
    lines.push([msg, obj]);
  };
  return { logger: { debug: () => {}, info: record, warn: record, error: record }, lines };
}

async function pair(
  opts: { maxFrameBytes?: number; maxQueuedEnvelopes?: number } = {},
  liveness: {
    a?: { idleTimeoutMs: number; keepaliveIntervalMs: number; logger?: RaftLogger };
    b?: { idleTimeoutMs: number; keepaliveIntervalMs: number };
  } = {},
) {
  const a = new TcpTransport({
    nodeId: 1,
    reconnectInitialMs: 10,
    reconnectMaxMs: 50,
    ...opts,
    ...liveness.a,
  });
  const b = new TcpTransport({
    nodeId: 2,
    reconnectInitialMs: 10,
    reconnectMaxMs: 50,
    ...opts,
    ...liveness.b,
  });
  open.push(a, b);
  const addrA = await a.listen();
  const addrB = await b.listen();
  a.setPeer(2, addrB);
  b.setPeer(1, addrA);
  const got = { a: [] as Envelope[], b: [] as Envelope[] };
  a.onMessage((_f, envs) => got.a.push(...envs));
  b.onMessage((_f, envs) => got.b.push(...envs));
  return { a, b, addrA, addrB, got };
}

const hb = (from: NodeId, to: NodeId, term: number, groupId = 'g'): Envelope => ({
  groupId,
  message: newMessage('heartbeat', from, to, { term }),
});

describe('TcpTransport', () => {
  it('closes and redials a connection on which nothing arrives (a silent peer or dropped packets)', async () => {
    // b never sends keepalives (as if its packets were dropped): a gives up on the connection and redials.
    const log = recordingLogger();
    const { a, b, got } = await pair(
      {},
      {
        a: { idleTimeoutMs: 300, keepaliveIntervalMs: 50, logger: log.logger },
        b: { idleTimeoutMs: 60_000, keepaliveIntervalMs: 30_000 },
      },
    );
    await waitFor('connected', () => a.isConnected(2) && b.isConnected(1));
    await waitFor('an idle disconnect', () => a.idleDisconnects > 0, 5_000);
    // The socket's close (which reports the loss) comes a turn after the disconnect is counted.
    await waitFor('the loss logged', () => log.lines.some(([msg]) => msg === 'raft peer connection lost'));
    expect(log.lines.filter(([msg]) => msg === 'raft peer connection lost')[0]?.[1]).toMatchObject({
      peer: 2,
      cause: 'silent',
    });
    // It connects afresh and still delivers.
    a.send(2, [hb(1, 2, 7)]);
    await waitFor('delivery after the redial', () => got.b.some((e) => e.message.term === 7), 5_000);
  });

  it("does not take its own event loop's stall for the peers' silence (no idle disconnect after a block)", async () => {
    const live = { idleTimeoutMs: 300, keepaliveIntervalMs: 50 };
    const { a, b, got } = await pair({}, { a: live, b: live });
    await waitFor('connected', () => a.isConnected(2) && b.isConnected(1));
    await new Promise((r) => setTimeout(r, 200));
    const dials = a.dialsStarted + b.dialsStarted;
    // Synchronous work: both ends' timers are late by more than the idle timeout when it ends.
    const from = performance.now();
    while (performance.now() - from < 800) {
      // blocked
    }
    await new Promise((r) => setTimeout(r, 400));
    expect(a.idleDisconnects + b.idleDisconnects).toBe(0);
    expect(a.dialsStarted + b.dialsStarted).toBe(dials);
    a.send(2, [hb(1, 2, 9)]);
    await waitFor('delivery on the same connection', () => got.b.some((e) => e.message.term === 9));
  });

  it('keeps a quiet connection open while both sides send keepalives, and delivers no empty batches', async () => {
    const live = { idleTimeoutMs: 300, keepaliveIntervalMs: 50 };
    const { a, b, got } = await pair({}, { a: live, b: live });
    await waitFor('connected', () => a.isConnected(2) && b.isConnected(1));
    await new Promise((r) => setTimeout(r, 1_000));
    expect(a.idleDisconnects + b.idleDisconnects).toBe(0);
    expect(got.a.length + got.b.length).toBe(0);
  });

  it('hears from a live peer, but not from one that accepts connections and sends nothing (a stopped process)', async () => {
    const live = { idleTimeoutMs: 300, keepaliveIntervalMs: 50 };
    const { a, b } = await pair({}, { a: live, b: live });
    await waitFor('both heard', () => a.isHeardFrom(2) && b.isHeardFrom(1));
    // A SIGSTOPped broker's kernel still completes the TCP handshake; nothing ever comes back.
    const sockets: Socket[] = [];
    const mute = createServer((s) => sockets.push(s));
    await new Promise<void>((resolve) => mute.listen(0, '127.0.0.1', resolve));
    const port = (mute.address() as { port: number }).port;
    const c = new TcpTransport({ nodeId: 1, reconnectInitialMs: 10, reconnectMaxMs: 50, ...live });
    open.push(c);
    try {
      c.setPeer(2, { host: '127.0.0.1', port });
      await waitFor('connected to the mute peer', () => c.isConnected(2));
      expect(c.isHeardFrom(2)).toBe(false);
      await new Promise((r) => setTimeout(r, 500));
      expect(c.isHeardFrom(2)).toBe(false);
      expect(c.isHeardFrom(3)).toBe(false);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => mute.close(() => resolve()));
    }
  });

  // Node 1 dials node 2. Whichever goes away (its process died), the other side hears of it, not itself.
  for (const gone of ['accepting', 'dialing'] as const) {
    it(`tells the dialing or accepting side when the ${gone} side's connection is lost, and not the side that closed`, async () => {
      const { a, b } = await pair();
      const lostAt = { a: [] as NodeId[], b: [] as NodeId[] };
      a.onPeerLost((peer) => lostAt.a.push(peer));
      b.onPeerLost((peer) => lostAt.b.push(peer));
      await waitFor('connected', () => a.isConnected(2) && b.isConnected(1));
      const [closing, survivor, lostId] =
        gone === 'accepting' ? ([b, 'a', 2] as const) : ([a, 'b', 1] as const);
      await closing.close();
      await waitFor(`the survivor told that node ${lostId} is lost`, () => lostAt[survivor].length > 0);
      expect(lostAt[survivor]).toEqual([lostId]);
      expect(lostAt[survivor === 'a' ? 'b' : 'a']).toEqual([]);
    });
  }

  it('logs a lost peer connection with its cause, on the side that lost it', async () => {
    const log = recordingLogger();
    const { a, b } = await pair(
      {},
      { a: { idleTimeoutMs: 60_000, keepaliveIntervalMs: 100, logger: log.logger } },
    );
    await waitFor('connected, and node 2 heard on it', () => a.isHeardFrom(2) && b.isConnected(1));
    expect(log.lines.filter(([msg]) => msg === 'raft peer connection lost')).toEqual([]);
    await b.close();
    await waitFor('the loss logged', () => log.lines.some(([msg]) => msg === 'raft peer connection lost'));
    const lost = log.lines.filter(([msg]) => msg === 'raft peer connection lost').map(([, o]) => o);
    expect(lost).toEqual([{ node_id: 1, peer: 2, cause: 'closed by the other end' }]);
  });

  it('does not log as lost a connection the peer never spoke on (a proxy in front of a stopped broker)', async () => {
    // The proxy accepts and, finding no broker behind it, closes: every redial would otherwise log a loss.
    const log = recordingLogger();
    const proxy = createServer((s) => s.destroy());
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const port = (proxy.address() as { port: number }).port;
    const c = new TcpTransport({ nodeId: 1, reconnectInitialMs: 10, reconnectMaxMs: 20, logger: log.logger });
    open.push(c);
    try {
      c.setPeer(2, { host: '127.0.0.1', port });
      await waitFor('several dials', () => c.dialsStarted >= 3);
      expect(log.lines.filter(([msg]) => msg === 'raft peer connection lost')).toEqual([]);
    } finally {
      await new Promise<void>((resolve) => proxy.close(() => resolve()));
    }
  });

  it('delivers both ways over the one connection the lower id dials', async () => {
    const { a, b, got } = await pair();
    a.send(2, [hb(1, 2, 1), hb(1, 2, 2, 'other-group')]);
    b.send(1, [hb(2, 1, 3)]);
    await waitFor('delivery', () => got.a.length === 1 && got.b.length === 2);
    expect(got.b.map((e) => [e.groupId, e.message.term])).toEqual([
      ['g', 1],
      ['other-group', 2],
    ]);
    expect(a.isConnected(2) && b.isConnected(1)).toBe(true);
  });

  it('lets a joining node outside the peer lists dial a voter, whatever the ids, and reach it both ways', async () => {
    // Voter 5 knows no node 9; joiner 9 dials it although the lower id normally dials.
    const voter = new TcpTransport({ nodeId: 5, acceptsUnknownPeers: true, reconnectInitialMs: 10 });
    const strict = new TcpTransport({ nodeId: 7, reconnectInitialMs: 10 });
    const joiner = new TcpTransport({
      nodeId: 9,
      dialsAllPeers: true,
      reconnectInitialMs: 10,
      reconnectMaxMs: 50,
    });
    open.push(voter, strict, joiner);
    const voterAddr = await voter.listen();
    const strictAddr = await strict.listen();
    const joinerAddr = await joiner.listen();
    const got = { voter: [] as Envelope[], joiner: [] as Envelope[] };
    voter.onMessage((_f, envs) => got.voter.push(...envs));
    joiner.onMessage((_f, envs) => got.joiner.push(...envs));
    joiner.setPeer(5, voterAddr);
    joiner.setPeer(7, strictAddr);
    joiner.send(5, [hb(9, 5, 1)]);
    await waitFor('joiner -> voter', () => got.voter.length === 1);
    voter.send(9, [hb(5, 9, 2)]);
    await waitFor("voter -> joiner over the joiner's connection", () => got.joiner.length === 1);
    expect(voter.isConnected(9) && joiner.isConnected(5)).toBe(true);
    // A transport that does not accept unknown peers refuses the joiner.
    joiner.send(7, [hb(9, 7, 3)]);
    await new Promise((r) => setTimeout(r, 100));
    expect(strict.isConnected(9)).toBe(false);

    // The voter restarts knowing the joiner's address (from metadata): both dial; the lower id's connection
    // wins and the pair keeps one working link instead of refusing each other.
    await voter.close();
    const restarted = new TcpTransport({
      nodeId: 5,
      port: voterAddr.port,
      acceptsUnknownPeers: true,
      peers: new Map([[9, joinerAddr]]),
      reconnectInitialMs: 10,
    });
    open.push(restarted);
    const again: Envelope[] = [];
    restarted.onMessage((_f, envs) => again.push(...envs));
    await restarted.listen();
    await waitFor('reconnected both ways', () => restarted.isConnected(9) && joiner.isConnected(5));
    await new Promise((r) => setTimeout(r, 300));
    joiner.send(5, [hb(9, 5, 4)]);
    restarted.send(9, [hb(5, 9, 5)]);
    await waitFor(
      'messages both ways after the restart',
      () => again.length === 1 && got.joiner.length === 2,
    );
    expect(restarted.isConnected(9) && joiner.isConnected(5)).toBe(true);
  });

  it('dials from the configured local address', async () => {
    const server = new TcpTransport({ nodeId: 2, host: '127.0.0.1' });
    const client = new TcpTransport({ nodeId: 1, localAddress: '127.0.0.2', reconnectInitialMs: 10 });
    open.push(server, client);
    const seen: string[] = [];
    const addr = await server.listen();
    server.onMessage(() => {});
    const raw = createServer((s) => {
      seen.push(s.remoteAddress ?? '');
      s.destroy();
    });
    await new Promise<void>((r) => raw.listen(0, '127.0.0.1', () => r()));
    const rawPort = (raw.address() as { port: number }).port;
    client.setPeer(3, { host: '127.0.0.1', port: rawPort });
    client.setPeer(2, addr);
    await waitFor('a connection from 127.0.0.2', () => seen.length > 0);
    raw.close();
    expect(seen[0]).toBe('127.0.0.2');
  });

  it('coalesces everything queued in one turn into one frame', async () => {
    const { a, got } = await pair();
    let frames = 0;
    const b2 = open[1]!;
    b2.onMessage((_f, envs) => {
      frames++;
      got.b.push(...envs);
    });
    await waitFor('connected', () => a.isConnected(2));
    for (let i = 0; i < 50; i++) a.send(2, [hb(1, 2, i, `p${i}`)]);
    await waitFor('delivery', () => got.b.length === 50);
    expect(frames).toBe(1);
  });

  it('drops envelopes that claim another sender', async () => {
    const { a, got } = await pair();
    a.send(2, [hb(3, 2, 1), hb(1, 2, 2)]);
    await waitFor('delivery', () => got.b.length === 1);
    expect(got.b[0]!.message.from).toBe(1);
  });

  it('closes a connection that sends garbage or an oversized frame, and keeps serving peers', async () => {
    const { a, addrB, got } = await pair({ maxFrameBytes: 1024 });
    for (const payload of [
      Buffer.from('GET / HTTP/1.1\r\n\r\n'),
      Buffer.from([0xff, 0xff, 0xff, 0xff, 2]),
      Buffer.concat([
        Buffer.from([0, 0, 0, 5, 1]),
        Buffer.from([0, 0, 0, 1]),
        Buffer.from([0, 0, 0, 3, 2, 0xc1, 0xc1]),
      ]),
    ]) {
      const closed = await new Promise<boolean>((resolve) => {
        const s = connect(addrB.port, addrB.host, () => s.write(payload));
        s.on('close', () => resolve(true));
        s.on('error', () => undefined);
        setTimeout(() => {
          s.destroy();
          resolve(false);
        }, 2_000);
      });
      expect(closed).toBe(true);
    }
    a.send(2, [hb(1, 2, 9)]);
    await waitFor('still working', () => got.b.some((e) => e.message.term === 9));
  });

  it('reconnects with backoff after the peer restarts', async () => {
    const { a, addrB } = await pair();
    await waitFor('connected', () => a.isConnected(2));
    await open[1]!.close();
    await waitFor('noticed disconnect', () => !a.isConnected(2));
    const b2 = new TcpTransport({ nodeId: 2, port: addrB.port });
    open.push(b2);
    await b2.listen();
    const got: Envelope[] = [];
    b2.onMessage((_f, envs) => got.push(...envs));
    b2.setPeer(1, { host: '127.0.0.1', port: 1 });
    await waitFor('reconnected', () => a.isConnected(2), 5_000);
    a.send(2, [hb(1, 2, 5)]);
    await waitFor('delivered after reconnect', () => got.length === 1);
  });

  it('bounds the queue for an unreachable peer by dropping the oldest', async () => {
    const t = new TcpTransport({ nodeId: 5, maxQueuedEnvelopes: 10 });
    open.push(t);
    t.setPeer(4, { host: '127.0.0.1', port: 1 });
    for (let i = 0; i < 25; i++) t.send(4, [hb(5, 4, i)]);
    expect(t.droppedEnvelopes).toBe(15);
  });
});
