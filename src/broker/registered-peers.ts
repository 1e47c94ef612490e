/**
 * Makes every broker registered in metadata a peer of this broker's Raft transport, at the peer address it
 * registered: partition groups span any pair of brokers, not only the metadata voters the transport starts
 * with. A broker that registers again at a new address is redialled there.
 */
import type { MetadataStateMachine } from '../metadata/index.js';
import type { TcpTransport } from '../raft/transport/tcp-transport.js';

/** Adds the registered brokers now and as they register or change; returns what stops following. */
export function followRegisteredPeers(
  stateMachine: Pick<MetadataStateMachine, 'subscribe' | 'view'>,
  transport: Pick<TcpTransport, 'setPeer'>,
  selfId: number,
): () => void {
  const known = new Map<number, string>();
  const learnPeers = (): void => {
    for (const b of stateMachine.view().brokers.values()) {
      const address = `${b.peerAddress.host}:${b.peerAddress.port}`;
      if (b.id === selfId || known.get(b.id) === address) continue;
      known.set(b.id, address);
      transport.setPeer(b.id, b.peerAddress);
    }
  };
  learnPeers();
  return stateMachine.subscribe((change) => {
    if (
      change.kind === 'restored' ||
      change.command.type === 'registerBroker' ||
      change.command.type === 'updateBroker'
    ) {
      learnPeers();
    }
  });
}
