/**
 * AlterBroker v0 (api key 10): drain, undrain or decommission a broker (cluster mode). Any broker accepts it
 * and writes the new state through the metadata store (forwarded to the metadata leader); the cluster
 * coordinator then moves replicas and leadership accordingly.
 *
 *   request  = { brokerId: int32 > 0, action: "drain" | "undrain" | "decommission" }
 *   response = { error: WireError | nil,
 *                state: "starting" | "alive" | "draining" | "failed" | "decommissioned" | nil }
 */
import type {
  AlterBrokerRequest,
  AlterBrokerResponse,
  BrokerAction,
  ClusterBrokerState,
} from '../../messages.js';
import { asNonNegInt32, asNullableWireError, asObject, field, invalid, wireErrorOut } from '../../narrow.js';

const ACTIONS: ReadonlySet<string> = new Set<BrokerAction>(['drain', 'undrain', 'decommission']);
const STATES: ReadonlySet<string> = new Set<ClusterBrokerState>([
  'starting',
  'alive',
  'draining',
  'failed',
  'decommissioned',
]);

export function encodeRequest(req: AlterBrokerRequest): unknown {
  return { brokerId: req.brokerId, action: req.action };
}

export function decodeRequest(v: unknown): AlterBrokerRequest {
  const o = asObject(v, 'AlterBroker');
  const brokerId = asNonNegInt32(field(o, 'brokerId'), 'AlterBroker.brokerId');
  if (brokerId === 0) return invalid('AlterBroker.brokerId', 'a broker id > 0');
  const action = field(o, 'action');
  if (typeof action !== 'string' || !ACTIONS.has(action)) {
    return invalid('AlterBroker.action', 'one of drain, undrain, decommission');
  }
  return { brokerId, action: action as BrokerAction };
}

export function encodeResponse(res: AlterBrokerResponse): unknown {
  return { error: wireErrorOut(res.error), state: res.state };
}

export function decodeResponse(v: unknown): AlterBrokerResponse {
  const o = asObject(v, 'AlterBrokerResponse');
  const state = field(o, 'state');
  if (state !== null && (typeof state !== 'string' || !STATES.has(state))) {
    return invalid('AlterBrokerResponse.state', 'a broker state or nil');
  }
  return {
    error: asNullableWireError(field(o, 'error'), 'AlterBrokerResponse.error'),
    state: state as ClusterBrokerState | null,
  };
}
