import { createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { type Envelope, newMessage } from '../../src/raft/index.js';
import { TcpTransport } from '../../src/raft/transport/tcp-transport.js';
import type { BreakerState, CircuitBreaker } from '../../src/resilience/index.js';
import { ManualClock } from '../../src/resilience/manual-clock.js';
import { waitFor } from '../helpers/wait-for.js';

const open: TcpTransport[] = [];
afterEach(async () => {
  for (const t of open.splice(0)) await t.close();
});

/** A loopback port nothing listens on (connections are refused) until a test listens on it. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address !== 'object') throw new Error('no address');
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return address.port;
}

const hb = (from: number, to: number, term: number): Envelope => ({
  groupId: 'g',
  message: newMessage('heartbeat', from, to, { term }),
});

/** The transport's breaker for `peer`, and the states it passed through. */
function watchBreaker(t: TcpTransport, name: string) {
  let breaker: CircuitBreaker | undefined;
  const states: BreakerState[] = [];
  t.observeBreakers((b) => {
    if (b.name !== name) return;
    breaker = b;
    b.subscribe((e) => {
      if (e.type === 'state-change') states.push(e.to);
    });
  });
  return { get: () => breaker, states };
}

describe('TcpTransport peer circuit breaker', () => {
  it('opens after failed dials, then drops sends and does not dial until the open timeout, then one dial closes it', async () => {
    const clock = new ManualClock(1_000_000);
    const port = await freePort();
    const a = new TcpTransport({
      nodeId: 1,
      timers: clock,
      nowMs: () => clock.nowMs(),
      reconnectInitialMs: 10,
      reconnectMaxMs: 40,
      breakerFailureThreshold: 3,
      breakerOpenTimeoutMs: 5_000,
      idleTimeoutMs: 60_000,
    });
    open.push(a);
    const watch = watchBreaker(a, 'raft-peer-2');
    a.setPeer(2, { host: '127.0.0.1', port });
    const breaker = watch.get();
    expect(breaker).toBeDefined();

    // Three refused dials in a row: the redial timers run on the manual clock.
    for (let failures = 1; failures <= 3; failures++) {
      await waitFor(`failed dial ${failures}`, () => breaker?.stats().failures === failures);
      if (failures < 3) {
        clock.advance(40);
        await waitFor(`dial ${failures + 1}`, () => a.dialsStarted === failures + 1);
      }
    }
    expect(watch.states).toEqual(['open']);

    // Open: sends fail fast and no dial happens before the open timeout, however often redials come due.
    const dropped = a.droppedEnvelopes;
    a.send(2, [hb(1, 2, 1)]);
    expect(a.droppedEnvelopes).toBe(dropped + 1);
    for (let i = 0; i < 10; i++) {
      clock.advance(400);
      await new Promise((r) => setTimeout(r, 5));
    }
    expect(a.dialsStarted).toBe(3);
    expect(breaker?.state()).toBe('open');

    // The peer comes back; after the open timeout one trial dial reaches it and closes the breaker.
    const b = new TcpTransport({ nodeId: 2, port, keepaliveIntervalMs: 20, idleTimeoutMs: 60_000 });
    open.push(b);
    await b.listen();
    b.setPeer(1, { host: '127.0.0.1', port: await freePort() }); // known, so its hello is accepted
    const got: Envelope[] = [];
    b.onMessage((_from, envs) => got.push(...envs));
    clock.advance(1_000);
    await waitFor('the trial dial', () => a.dialsStarted === 4);
    expect(breaker?.state()).toBe('half-open');
    await waitFor('closed after the trial', () => breaker?.state() === 'closed');
    expect(watch.states).toEqual(['open', 'half-open', 'closed']);
    expect(a.dialsStarted).toBe(4);
    a.send(2, [hb(1, 2, 7)]);
    await waitFor('delivery once closed', () => got.some((e) => e.message.term === 7));
  });

  it('on the side that is dialed: opens when the peer stays away, and the peer dialing in closes it', async () => {
    const clock = new ManualClock(1_000_000);
    // Node 2 waits for node 1 (the lower id) to dial it.
    const b = new TcpTransport({
      nodeId: 2,
      nowMs: () => clock.nowMs(),
      keepaliveIntervalMs: 20,
      idleTimeoutMs: 300,
      breakerFailureThreshold: 2,
    });
    open.push(b);
    const addrB = await b.listen();
    const watch = watchBreaker(b, 'raft-peer-1');
    const portA = await freePort();
    b.setPeer(1, { host: '127.0.0.1', port: portA });
    // Each idle timeout without a connection from node 1 is a failure (checked by the real liveness timer).
    for (let failures = 1; failures <= 2; failures++) {
      clock.advance(300);
      await waitFor(
        `absence ${failures}`,
        () => watch.states.length > 0 || watch.get()?.stats().failures === failures,
      );
    }
    expect(watch.states).toEqual(['open']);
    expect(b.dialsStarted).toBe(0);
    const dropped = b.droppedEnvelopes;
    b.send(1, [hb(2, 1, 1)]);
    expect(b.droppedEnvelopes).toBe(dropped + 1);

    // Node 1 starts and dials: its hello closes the breaker at once (no open timeout to wait out).
    const a = new TcpTransport({ nodeId: 1, port: portA, keepaliveIntervalMs: 20, idleTimeoutMs: 60_000 });
    open.push(a);
    await a.listen();
    const got: Envelope[] = [];
    a.onMessage((_from, envs) => got.push(...envs));
    a.setPeer(2, addrB);
    await waitFor('closed by the hello', () => watch.get()?.state() === 'closed');
    expect(watch.states).toEqual(['open', 'half-open', 'closed']);
    b.send(1, [hb(2, 1, 9)]);
    await waitFor('delivery once closed', () => got.some((e) => e.message.term === 9));
  });
});
