/**
 * AlterQuorum v0 (api key 25): promote a registered broker to metadata voter or demote a voter (cluster
 * mode; KIP-853's AddRaftVoter and RemoveRaftVoter in one). Only the metadata leader changes the quorum;
 * another broker answers NOT_LEADER and the client asks the controller.
 *
 *   request  = { brokerId: int32 > 0, action: "add-voter" | "remove-voter" }
 *   response = { error: WireError | nil, voters: [int32 >= 0], learners: [int32 >= 0] }
 */
import type { AlterQuorumRequest, AlterQuorumResponse, QuorumAction } from '../../messages.js';
import {
  asInt32Array,
  asNonNegInt32,
  asNullableWireError,
  asObject,
  field,
  invalid,
  wireErrorOut,
} from '../../narrow.js';

const ACTIONS: ReadonlySet<string> = new Set<QuorumAction>(['add-voter', 'remove-voter']);

export function encodeRequest(req: AlterQuorumRequest): unknown {
  return { brokerId: req.brokerId, action: req.action };
}

export function decodeRequest(v: unknown): AlterQuorumRequest {
  const o = asObject(v, 'AlterQuorum');
  const brokerId = asNonNegInt32(field(o, 'brokerId'), 'AlterQuorum.brokerId');
  if (brokerId === 0) return invalid('AlterQuorum.brokerId', 'a broker id > 0');
  const action = field(o, 'action');
  if (typeof action !== 'string' || !ACTIONS.has(action)) {
    return invalid('AlterQuorum.action', 'one of add-voter, remove-voter');
  }
  return { brokerId, action: action as QuorumAction };
}

export function encodeResponse(res: AlterQuorumResponse): unknown {
  return { error: wireErrorOut(res.error), voters: res.voters, learners: res.learners };
}

export function decodeResponse(v: unknown): AlterQuorumResponse {
  const o = asObject(v, 'AlterQuorumResponse');
  return {
    error: asNullableWireError(field(o, 'error'), 'AlterQuorumResponse.error'),
    voters: asInt32Array(field(o, 'voters'), 'AlterQuorumResponse.voters'),
    learners: asInt32Array(field(o, 'learners'), 'AlterQuorumResponse.learners'),
  };
}
