/**
 * Makes every broker registered in metadata a peer of this broker's Raft transport, at the peer address it
 * registered: partition groups span any pair of brokers, not only the metadata voters the transport starts
 * with. A broker that registers again at a new address is redialled there.
 *
 * A broker that is unregistered (or absent from a restored snapshot) stops being a peer once it is no member
 * of the metadata group either: it left the cluster, and dialling it on would open its breaker every second
 * for good. Until the coordinator's remove-learner (or an operator's remove-voter) applies here, the group
 * still replicates to it, and the decommissioned broker learns from that very log that it was unregistered
 * (it then says it left the cluster, and a restart registers it anew): cut off at the unregistration, it
 * would not. Partition groups no longer count it: the coordinator unregisters a broker only once metadata
 * places no replica on it and no move involves it (coordinator-logic.ts; the metadata state refuses it
 * otherwise), and a move completes only once its group dropped the old voter. The operator stops it next.
 * A broker that registers again (a decommissioned one restarted) is a peer again.
 *
 * The peers are recomputed from the current view after each change, not from the change itself: replaying
 * the metadata log at start adds a broker at its registration and removes it a few entries later, which
 * closes the dial it started. Only brokers learned here are removed: the founding voters the transport
 * starts with stay peers until metadata has named them.
 */
import type { MetadataChange, MetadataStateMachine } from '../metadata/index.js';
import type { NodeId } from '../raft/core/types.js';
import type { RaftNode } from '../raft/node.js';
import type { TcpTransport } from '../raft/transport/tcp-transport.js';

/** The metadata group's members (voters, outgoing voters, learners), and word when they change. */
export interface GroupMembers {
  members(): Iterable<NodeId>;
  /** Calls `listener` after each membership change applies; returns what stops that. */
  onChange(listener: () => void): () => void;
}

export function metadataGroupMembers(raft: Pick<RaftNode, 'status' | 'on' | 'off'>): GroupMembers {
  return {
    members: () => {
      const s = raft.status();
      return [...s.voters, ...s.votersOutgoing, ...s.learners];
    },
    onChange: (listener) => {
      raft.on('conf-change', listener);
      return () => raft.off('conf-change', listener);
    },
  };
}

/** Follows the registered brokers now and as they register, change or leave; returns what stops following. */
export function followRegisteredPeers(
  stateMachine: Pick<MetadataStateMachine, 'subscribe' | 'view'>,
  transport: Pick<TcpTransport, 'setPeer' | 'removePeer'>,
  selfId: number,
  group: GroupMembers,
): () => void {
  const known = new Map<number, string>();
  const syncPeers = (): void => {
    const brokers = stateMachine.view().brokers;
    const members = new Set(group.members());
    for (const id of known.keys()) {
      if (brokers.has(id) || members.has(id)) continue;
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
  const stopMetadata = stateMachine.subscribe((change) => {
    if (changesRegistry(change)) syncPeers();
  });
  const stopGroup = group.onChange(syncPeers);
  return () => {
    stopMetadata();
    stopGroup();
  };
}

/** True for a metadata change that may change who is registered, or where. */
export function changesRegistry(change: MetadataChange): boolean {
  return change.kind === 'restored' || REGISTRY_COMMANDS.has(change.command.type);
}

/** The commands that change who is registered, or where. */
const REGISTRY_COMMANDS: ReadonlySet<string> = new Set([
  'registerBroker',
  'updateBroker',
  'unregisterBroker',
]);
