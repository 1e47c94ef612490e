import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startPeerProxy } from '../../chaos/harness/cluster.js';
import type { TcpProxy } from '../../chaos/harness/tcp-proxy.js';
import { NftTable, nftUnavailableReason, partitionRules, tableName } from '../../chaos/nemesis/nft.js';
import { seededRandom } from '../../chaos/nemesis/plan.js';

const reason = nftUnavailableReason();
if (reason !== null) console.log(`SKIP nft partition plumbing: ${reason}`);

/** Connects from one loopback address to another; resolves whether the handshake completed in time. */
function canConnect(from: string, to: string, port: number, timeoutMs = 700): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: to, port, localAddress: from });
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(false);
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => {
      clearTimeout(timer);
      resolve(false);
    });
  });
}

describe.skipIf(reason !== null)('nftables partition plumbing between 127.0.1.N brokers', () => {
  const table = new NftTable(tableName(process.pid * 10 + 7));
  let server: Server | null = null;
  let proxy: TcpProxy | null = null;

  afterEach(async () => {
    table.delete();
    await proxy?.close();
    proxy = null;
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
    server = null;
  });

  it('cuts traffic between an isolated node and the rest, and heals completely', async () => {
    server = createServer((s) => s.destroy());
    await new Promise<void>((r) => server!.listen(0, '127.0.1.3', () => r()));
    const addr = server.address();
    const port = typeof addr === 'object' && addr !== null ? addr.port : 0;

    expect(await canConnect('127.0.1.2', '127.0.1.3', port)).toBe(true);
    await table.apply(partitionRules('isolate', ['127.0.1.2', '127.0.1.3'], 0));
    expect(table.exists()).toBe(true);
    expect(await canConnect('127.0.1.2', '127.0.1.3', port)).toBe(false);
    // An address outside the partition still gets through.
    expect(await canConnect('127.0.1.4', '127.0.1.3', port)).toBe(true);
    await table.remove();
    expect(table.exists()).toBe(false);
    expect(await canConnect('127.0.1.2', '127.0.1.3', port)).toBe(true);
  });

  it('cuts broker-to-broker traffic that flows through the peer proxies, open connections included', async () => {
    // Node 3's peer listener (an echo server) behind the harness's peer proxy for node 3.
    const peerSources: string[] = [];
    server = createServer((s) => {
      peerSources.push(s.remoteAddress ?? '');
      s.pipe(s);
    });
    await new Promise<void>((r) => server!.listen(0, '127.0.1.3', () => r()));
    const addr = server.address();
    const peerPort = typeof addr === 'object' && addr !== null ? addr.port : 0;
    proxy = await startPeerProxy('127.0.1.3', peerPort, seededRandom(3));

    // Node 2 holds a connection to node 3 through the proxy, as a broker's Raft connection would.
    const open = connect({ host: '127.0.1.3', port: proxy.port, localAddress: '127.0.1.2' });
    await new Promise<void>((r) => open.once('connect', () => r()));
    expect(await echoes(open, 'before')).toBe(true);
    // The proxy reaches its broker from the node's own address: that hop is inside node 3 for nft.
    expect(peerSources).toEqual(['127.0.1.3']);

    await table.apply(partitionRules('isolate', ['127.0.1.2', '127.0.1.3'], 1));
    expect(await echoes(open, 'during')).toBe(false);
    expect(await canConnect('127.0.1.2', '127.0.1.3', proxy.port)).toBe(false);
    // Outside the partition, the proxy and its hop to the broker still work end to end.
    const outside = connect({ host: '127.0.1.3', port: proxy.port, localAddress: '127.0.1.4' });
    await new Promise<void>((r) => outside.once('connect', () => r()));
    expect(await echoes(outside, 'outside')).toBe(true);
    outside.destroy();
    open.destroy();

    await table.remove();
    expect(await canConnect('127.0.1.2', '127.0.1.3', proxy.port)).toBe(true);
  });
});

/** Writes `text` and resolves whether it came back within `timeoutMs`. */
function echoes(socket: Socket, text: string, timeoutMs = 700): Promise<boolean> {
  return new Promise((resolve) => {
    let got = '';
    const onData = (chunk: Buffer): void => {
      got += chunk.toString();
      if (got.includes(text)) done(true);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      socket.off('data', onData);
      resolve(ok);
    };
    socket.on('data', onData);
    socket.write(text);
  });
}
