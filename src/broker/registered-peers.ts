/**
 * Makes every broker registered in metadata a peer of this broker's Raft transport, at the peer address it
 * registered: partition groups span any pair of brokers, not only the metadata voters the transport starts
 * with. A broker that registers again at a new address is redialled there.
 *
 * A broker that is unregistered (or absent from a restored snapshot) stops being a peer: it left the cluster,
 * and dialling it on would open its breaker every second for good. The coordinator unregisters a broker
 * only once metadata places no replica on it and no move involves it (coordinator-logic.ts; the metadata
 * state refuses it otherwise), so no partition group still counts on reaching it; the operator stops it
 * next. A broker that registers again (a decommissioned one restarted) is a peer again.
 *
 * The peers are recomputed from the current view after each change, not from the change itself: replaying
 * the metadata log at start adds a broker at its registration and removes it at its unregistration a few
 * entries later, before any redial comes due. Only brokers learned here are removed: the founding voters the
 * transport starts with stay peers until metadata has named them.
 */
import type { MetadataStateMachine } from '../metadata/index.js';
import type { TcpTransport } from '../raft/transport/tcp-transport.js';

/** Follows the registered brokers now and as they register, change or leave; returns what stops following. */
export function followRegisteredPeers(
  stateMachine: Pick<MetadataStateMachine, 'subscribe' | 'view'>,
  transport: Pick<TcpTransport, 'setPeer' | 'removePeer'>,
  selfId: number,
): () => void {
  const known = new Map<number, string>();
  const syncPeers = (): void => {
    const brokers = stateMachine.view().brokers;
    for (const id of known.keys()) {
      if (brokers.has(id)) continue;
      known.delete(id);
      transport.removePeer(id);
    }
    for (const b of brokers.values()) {
      const address = `${b.peerAddress.host}:${b.peerAddress.port}`;
      if (b.id === selfId || known.get(b.id) === address) continue;
      known.set(b.id, address);
      transport.setPeer(b.id, b.peerAddress);
    }
  };
  syncPeers();
  return stateMachine.subscribe((change) => {
    if (change.kind === 'restored' || REGISTRY_COMMANDS.has(change.command.type)) syncPeers();
  });
}

/** The commands that change who is registered, or where. */
const REGISTRY_COMMANDS: ReadonlySet<string> = new Set([
  'registerBroker',
  'updateBroker',
  'unregisterBroker',
]);
