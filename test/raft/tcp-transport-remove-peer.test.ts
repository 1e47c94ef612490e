/**
 * TcpTransport.removePeer: a peer whose broker left the cluster is forgotten for good. Its connection and
 * any dial in progress close, no redial follows however long the clock runs, messages for it are dropped,
 * and its breaker goes with it (what observers bound to it is released), so it never opens again. A peer
 * known only from its hello is forgotten the same way once its connection closes.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { type Envelope, newMessage } from '../../src/raft/index.js';
import { TcpTransport } from '../../src/raft/transport/tcp-transport.js';
import type { BreakerState, CircuitBreaker } from '../../src/resilience/index.js';
import { ManualClock } from '../../src/resilience/manual-clock.js';
import { waitFor } from '../helpers/wait-for.js';

const open: TcpTransport[] = [];
const servers: Server[] = [];
afterEach(async () => {
  for (const t of open.splice(0)) await t.close();
  for (const s of servers.splice(0)) await new Promise<void>((r) => s.close(() => r()));
});

const hb = (from: number, to: number, term: number): Envelope => ({
  groupId: 'g',
  message: newMessage('heartbeat', from, to, { term }),
});

/** A listener that accepts connections and closes each at once (a dial that never proves the peer). */
async function refusingPeer(): Promise<{ port: number; accepted: () => number; live: () => number }> {
  const sockets: Socket[] = [];
  const server = createServer((s) => {
    sockets.push(s);
    s.on('error', () => undefined);
    s.destroy();
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const address = server.address();
  if (address === null || typeof address !== 'object') throw new Error('no address');
  return {
    port: address.port,
    accepted: () => sockets.length,
    live: () => sockets.filter((s) => !s.destroyed).length,
  };
}

/** Breakers told to observers by name, the states each passed through, and which were released. */
function watchBreakers(t: TcpTransport) {
  const states = new Map<string, BreakerState[]>();
  const breakers = new Map<string, CircuitBreaker>();
  const released: string[] = [];
  t.observeBreakers((b) => {
    breakers.set(b.name, b);
    const seen: BreakerState[] = [];
    states.set(b.name, seen);
    const off = b.subscribe((e) => {
      if (e.type === 'state-change') seen.push(e.to);
    });
    return () => {
      off();
      released.push(b.name);
    };
  });
  return { states, breakers, released };
}

const settle = () => new Promise((r) => setTimeout(r, 20));

describe('TcpTransport.removePeer', () => {
  it('stops dialing a removed peer for good: no redial, its breaker released, sends dropped', async () => {
    const clock = new ManualClock(1_000_000);
    const peer = await refusingPeer();
    const a = new TcpTransport({
      nodeId: 1,
      timers: clock,
      nowMs: () => clock.nowMs(),
      reconnectInitialMs: 10,
      reconnectMaxMs: 40,
      breakerFailureThreshold: 3,
      idleTimeoutMs: 60_000,
    });
    open.push(a);
    const watch = watchBreakers(a);
    a.setPeer(2, { host: '127.0.0.1', port: peer.port });
    // Failed once its connection closed (the redial is then due within the backoff, on the manual clock).
    const failures = () => watch.breakers.get('raft-peer-2')?.stats().failures;
    await waitFor('the first dial fails', () => failures() === 1);
    clock.advance(40);
    await waitFor('the redial fails', () => a.dialsStarted === 2 && failures() === 2);

    a.removePeer(2);
    expect(watch.released).toEqual(['raft-peer-2']);
    const dials = a.dialsStarted;
    for (let i = 0; i < 20; i++) {
      clock.advance(1_000);
      await settle();
    }
    expect(a.dialsStarted).toBe(dials);
    expect(watch.states.get('raft-peer-2')).toEqual([]);
    const dropped = a.droppedEnvelopes;
    a.send(2, [hb(1, 2, 1)]);
    expect(a.droppedEnvelopes).toBe(dropped + 1);
    expect(a.isConnected(2)).toBe(false);
    expect(a.silentForMs(2)).toBeUndefined();
  });

  it('closes the connection to a removed peer and does not reconnect; setPeer makes it a peer again', async () => {
    const a = new TcpTransport({ nodeId: 1, reconnectInitialMs: 10, reconnectMaxMs: 40 });
    const b = new TcpTransport({ nodeId: 2, reconnectInitialMs: 10, reconnectMaxMs: 40 });
    open.push(a, b);
    const addrA = await a.listen();
    const addrB = await b.listen();
    const got: Envelope[] = [];
    b.onMessage((_f, envs) => got.push(...envs));
    a.onMessage(() => {});
    const watch = watchBreakers(a);
    a.setPeer(2, addrB);
    b.setPeer(1, addrA);
    await waitFor('connected', () => a.isConnected(2) && b.isConnected(1));

    a.removePeer(2);
    expect(a.isConnected(2)).toBe(false);
    await waitFor('the other end sees the connection closed', () => !b.isConnected(1));
    const dials = a.dialsStarted;
    await new Promise((r) => setTimeout(r, 300)); // several redial backoffs
    expect(a.dialsStarted).toBe(dials);
    expect(b.isConnected(1)).toBe(false);
    expect(watch.released).toEqual(['raft-peer-2']);

    // It registers again: a peer anew, with a fresh breaker, dialed and reached.
    a.setPeer(2, addrB);
    await waitFor('reconnected', () => a.isConnected(2) && b.isConnected(1));
    a.send(2, [hb(1, 2, 7)]);
    await waitFor('delivered', () => got.some((e) => e.message.term === 7));
    expect([...watch.states.keys()]).toEqual(['raft-peer-2']);
    expect(watch.states.get('raft-peer-2')).toEqual([]);
  });

  it('a peer added and removed in the same turn (metadata log replay) leaves no connection and no redial', async () => {
    const peer = await refusingPeer();
    const a = new TcpTransport({ nodeId: 1, reconnectInitialMs: 10, reconnectMaxMs: 40 });
    open.push(a);
    a.setPeer(2, { host: '127.0.0.1', port: peer.port });
    a.removePeer(2);
    await new Promise((r) => setTimeout(r, 300));
    expect(a.dialsStarted).toBe(1);
    expect(peer.accepted()).toBeLessThanOrEqual(1);
    expect(peer.live()).toBe(0);
  });

  it('forgets a node known only from its hello once its connection closes, instead of counting it absent', async () => {
    const voter = new TcpTransport({
      nodeId: 1,
      acceptsUnknownPeers: true,
      keepaliveIntervalMs: 20,
      idleTimeoutMs: 100,
      breakerFailureThreshold: 1,
    });
    const joiner = new TcpTransport({ nodeId: 4, dialsAllPeers: true, reconnectInitialMs: 10 });
    open.push(voter, joiner);
    const addr = await voter.listen();
    voter.onMessage(() => {});
    joiner.onMessage(() => {});
    const watch = watchBreakers(voter);
    joiner.setPeer(1, addr);
    await waitFor('the joiner accepted', () => voter.isConnected(4));
    expect([...watch.states.keys()]).toEqual(['raft-peer-4']);

    // A broker that left the cluster dialed in again, then is stopped.
    await joiner.close();
    await waitFor('forgotten', () => watch.released.length === 1);
    expect(voter.isConnected(4)).toBe(false);
    await new Promise((r) => setTimeout(r, 500)); // five idle timeouts
    expect(watch.states.get('raft-peer-4')).toEqual([]);
  });
});
