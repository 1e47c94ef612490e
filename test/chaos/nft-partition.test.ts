import { connect, createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { NftTable, nftUnavailableReason, partitionRules, tableName } from '../../chaos/nemesis/nft.js';

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

  afterEach(async () => {
    table.delete();
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  });

  it('cuts traffic between an isolated node and the rest, and heals completely', async () => {
    server = createServer((s) => s.destroy());
    await new Promise<void>((r) => server!.listen(0, '127.0.1.3', () => r()));
    const addr = server.address();
    const port = typeof addr === 'object' && addr !== null ? addr.port : 0;

    expect(await canConnect('127.0.1.2', '127.0.1.3', port)).toBe(true);
    table.apply(partitionRules('isolate', ['127.0.1.2', '127.0.1.3'], 0));
    expect(table.exists()).toBe(true);
    expect(await canConnect('127.0.1.2', '127.0.1.3', port)).toBe(false);
    // An address outside the partition still gets through.
    expect(await canConnect('127.0.1.4', '127.0.1.3', port)).toBe(true);
    table.delete();
    expect(table.exists()).toBe(false);
    expect(await canConnect('127.0.1.2', '127.0.1.3', port)).toBe(true);
  });
});
