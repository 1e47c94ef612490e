/**
 * TcpTransport.dialAllPeers: a node that dialed only higher ids (the rule between founding voters) starts
 * dialing every peer it knows, as a joining node does from the start. A founding voter that the group
 * removed while it was down needs it: the others dropped it and, its id being higher, never dial it
 * (broker/leader-search.ts). A peer whose connection is up already is not dialed again.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { type Envelope, newMessage } from '../../src/raft/index.js';
import { TcpTransport } from '../../src/raft/transport/tcp-transport.js';
import { waitFor } from '../helpers/wait-for.js';

const HOST = '127.0.3.51';
const open: TcpTransport[] = [];
afterEach(async () => {
  for (const t of open.splice(0)) await t.close();
});

const hb = (from: number, to: number): Envelope => ({
  groupId: 'g',
  message: newMessage('heartbeat', from, to, { term: 1 }),
});

function transport(nodeId: number, options: { acceptsUnknownPeers?: boolean } = {}): TcpTransport {
  const t = new TcpTransport({
    nodeId,
    host: HOST,
    port: 0,
    localAddress: HOST,
    reconnectInitialMs: 10,
    ...options,
  });
  open.push(t);
  return t;
}

describe('TcpTransport.dialAllPeers', () => {
  it('connects a higher id to a lower one that does not know it', async () => {
    const voter = transport(1, { acceptsUnknownPeers: true });
    const removed = transport(3);
    const voterAddress = await voter.listen();
    await removed.listen();
    const heard: number[] = [];
    voter.onMessage((from) => heard.push(from));
    removed.onMessage(() => {});
    removed.setPeer(1, voterAddress);
    expect(removed.dialsStarted).toBe(0); // the lower id dials, and this one does not know node 3

    removed.dialAllPeers();
    await waitFor('connected', () => removed.isConnected(1) && voter.isConnected(3));
    removed.send(1, [hb(3, 1)]);
    await waitFor('a message from node 3', () => heard.includes(3));
  });

  it('does not dial a peer whose own connection is up', async () => {
    const lower = transport(1);
    const higher = transport(3);
    await lower.listen();
    const higherAddress = await higher.listen();
    lower.onMessage(() => {});
    higher.onMessage(() => {});
    higher.setPeer(1, { host: HOST, port: 1 }); // never dialed: its address does not matter
    lower.setPeer(3, higherAddress);
    await waitFor('connected', () => higher.isConnected(1));

    higher.dialAllPeers();
    expect(higher.dialsStarted).toBe(0);
    expect(lower.isConnected(3)).toBe(true);
  });
});
