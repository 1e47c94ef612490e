import { connect, createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { TcpProxy } from '../../chaos/harness/tcp-proxy.js';
import { seededRandom } from '../../chaos/nemesis/plan.js';

let server: Server | null = null;
let proxy: TcpProxy | null = null;

afterEach(async () => {
  await proxy?.close();
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  server = null;
  proxy = null;
});

async function echoThroughProxy(faults: Parameters<TcpProxy['setFaults']>[0]): Promise<string> {
  server = createServer((s) => s.pipe(s));
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', () => r()));
  const addr = server.address();
  const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
  const seed = 1234;
  console.log(`proxy random seed ${seed}`);
  proxy = new TcpProxy({
    listenHost: '127.0.0.1',
    targetHost: '127.0.0.1',
    targetPort: port,
    random: seededRandom(seed),
  });
  await proxy.start();
  proxy.setFaults(faults);
  const socket = connect({ host: '127.0.0.1', port: proxy.port });
  const expected = Array.from({ length: 200 }, (_, i) => `${i};`).join('');
  const received = new Promise<string>((resolve) => {
    let text = '';
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      if (text.length >= expected.length) resolve(text);
    });
  });
  await new Promise<void>((r) => socket.once('connect', () => r()));
  for (let i = 0; i < 200; i++) {
    socket.write(`${i};`);
    if (i % 20 === 0) await new Promise((r) => setTimeout(r, 2));
  }
  const text = await received;
  socket.destroy();
  expect(text).toBe(expected);
  return text;
}

describe('slow proxy', () => {
  it('forwards a stream unchanged when healthy', async () => {
    await echoThroughProxy(null);
  });

  it('delays and stalls chunks but never reorders or drops bytes of a stream', async () => {
    await echoThroughProxy({ delayMs: 5, jitterMs: 20, lossRate: 0.3, retransmitMs: 30, resetRate: 0 });
  });
});

describe('faults by source address', () => {
  /** Sends one line through the proxy from `from`; resolves with whether it came back (false: reset). */
  function roundTrip(from: string): Promise<boolean> {
    return new Promise((resolve) => {
      const socket = connect({ host: '127.0.0.1', port: proxy!.port, localAddress: from });
      socket.once('connect', () => socket.write('ping'));
      socket.once('data', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('close', () => resolve(false));
      socket.once('error', () => resolve(false));
    });
  }

  it('applies faults set for one source only to connections from it, until healed', async () => {
    server = createServer((s) => s.pipe(s));
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', () => r()));
    const addr = server.address();
    const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
    proxy = new TcpProxy({
      listenHost: '127.0.0.1',
      targetHost: '127.0.0.1',
      targetPort: port,
      random: seededRandom(7),
    });
    await proxy.start();
    // resetRate 1 resets on the first chunk: deterministic, no timing involved.
    const resetting = { delayMs: 0, jitterMs: 0, lossRate: 0, retransmitMs: 0, resetRate: 1 };
    proxy.setFaults(resetting, '127.0.0.5');
    expect(await roundTrip('127.0.0.5')).toBe(false);
    expect(await roundTrip('127.0.0.6')).toBe(true);
    proxy.setFaults(null, '127.0.0.5');
    expect(await roundTrip('127.0.0.5')).toBe(true);
    proxy.setFaults(resetting, '127.0.0.5');
    proxy.heal();
    expect(await roundTrip('127.0.0.5')).toBe(true);
    expect(proxy.connectionsAccepted).toBe(4);
    expect(proxy.bytesForwarded).toBeGreaterThan(0);
  });
});
