/**
 * Heartbeat v0 (api key 15): a member tells the coordinator it is alive; REBALANCE_IN_PROGRESS in the
 * answer tells it to rejoin.
 *
 *   request  = { groupId: str (1..255 chars), memberId: str (non-empty), groupInstanceId: str | nil,
 *                generation: int32 >= -1 }
 *   response = { error: WireError | nil }
 */
import type { HeartbeatRequest, HeartbeatResponse } from '../../messages.js';
import { asNullableString, asNullableWireError, asObject, field, wireErrorOut } from '../../narrow.js';
import { asGeneration, asGroupId, asMemberId } from '../group-fields.js';

export function encodeRequest(req: HeartbeatRequest): unknown {
  return {
    groupId: req.groupId,
    memberId: req.memberId,
    groupInstanceId: req.groupInstanceId,
    generation: req.generation,
  };
}

export function decodeRequest(v: unknown): HeartbeatRequest {
  const o = asObject(v, 'Heartbeat');
  return {
    groupId: asGroupId(field(o, 'groupId'), 'Heartbeat.groupId'),
    memberId: asMemberId(field(o, 'memberId'), 'Heartbeat.memberId'),
    groupInstanceId: asNullableString(field(o, 'groupInstanceId'), 'Heartbeat.groupInstanceId'),
    generation: asGeneration(field(o, 'generation'), 'Heartbeat.generation'),
  };
}

export function encodeResponse(res: HeartbeatResponse): unknown {
  return { error: wireErrorOut(res.error) };
}

export function decodeResponse(v: unknown): HeartbeatResponse {
  const o = asObject(v, 'HeartbeatResponse');
  return { error: asNullableWireError(field(o, 'error'), 'HeartbeatResponse.error') };
}
