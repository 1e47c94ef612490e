/**
 * Operator changes of a broker's state: drain (move its replicas and leadership off), undrain, or
 * decommission (empty it, then unregister it). Only the state is written here, through the metadata store;
 * the cluster coordinator then carries the change out. Decided on a linearizable read, so a just-changed
 * state is not missed.
 */
import { StreamBusError } from '../errors/index.js';
import type { MetadataStore } from '../metadata/index.js';
import type { BrokerState } from '../metadata/types.js';
import type { Logger } from '../observability/index.js';
import type { BrokerAction } from '../protocol/messages.js';
import type { Deadline } from '../resilience/deadline.js';

export interface BrokerStateChangeDeps {
  readonly store: Pick<MetadataStore, 'readLinearizable' | 'updateBroker'>;
  readonly logger: Logger;
  /**
   * The metadata group's voters, outgoing ones included, as this broker's Raft node knows them (its log,
   * read after the linearizable read above, so a committed voter change is in it).
   */
  readonly metadataVoters: () => readonly number[];
}

/**
 * Moves `brokerId` to the state `action` asks for; resolves with that state. `deadline`: the client
 * request's, which the read and the proposal (forwarded to the leader with what is left of it) run within.
 */
export async function alterBrokerState(
  deps: BrokerStateChangeDeps,
  brokerId: number,
  action: BrokerAction,
  deadline?: Deadline,
): Promise<BrokerState> {
  const b = (await deps.store.readLinearizable(deadline?.signal)).brokers.get(brokerId);
  const operation = `broker.${action}`;
  if (b === undefined) {
    throw new StreamBusError('UNKNOWN_BROKER', {
      operation,
      message: `no broker ${brokerId} is registered`,
    });
  }
  const target: BrokerState =
    action === 'drain' ? 'draining' : action === 'undrain' ? 'alive' : 'decommissioned';
  const refuse = (why: string) =>
    new StreamBusError('METADATA_CONFLICT', { operation, message: `broker ${brokerId} ${why}` });
  if (b.state === 'decommissioned' && action !== 'decommission') {
    throw refuse('is decommissioned; restart it to register it anew');
  }
  // Before the no-op answer below: only a draining broker can be undrained (docs/cluster.md), so undrain of
  // an alive broker says so instead of answering "alive" as if it had cancelled a drain.
  if (action === 'undrain' && b.state !== 'draining') throw refuse(`is ${b.state}, not draining`);
  if (b.state === target) return target;
  // A decommissioned voter is unregistered and dropped by the others while the group still counts its
  // vote: the group tolerates one failure less, and the broker, restarted, could not register again.
  if (action === 'decommission' && deps.metadataVoters().includes(brokerId)) {
    throw refuse(
      `is a metadata voter: run \`streambus cluster remove-voter ${brokerId}\` first, then decommission it`,
    );
  }
  if (action === 'drain' && b.state === 'failed') {
    throw refuse('has failed; its replicas move after cluster.failed_grace, or decommission it');
  }
  await deps.store.updateBroker({ brokerId, state: target }, deadline === undefined ? {} : { deadline });
  deps.logger.info(
    { operation, broker_id: brokerId, from: b.state, to: target },
    'broker state changed by an operator',
  );
  return target;
}
