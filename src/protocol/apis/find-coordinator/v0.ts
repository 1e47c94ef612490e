/**
 * FindCoordinator v0 (api key 12): which broker coordinates a consumer group, i.e. leads the group's
 * `__consumer_offsets` partition. Any broker answers.
 *
 *   request  = { groupId: str (1..255 chars) }
 *   response = { error: WireError | nil, nodeId: int32 >= -1, host: str, port: int32 >= -1 }
 *
 * nodeId is -1 with an error; port may be -1 then too (Kafka's convention), so the client accepts it.
 */
import type { FindCoordinatorRequest, FindCoordinatorResponse } from '../../messages.js';
import {
  asInt32OrMinusOne,
  asNullableWireError,
  asObject,
  asString,
  field,
  wireErrorOut,
} from '../../narrow.js';
import { asGroupId } from '../group-fields.js';

export function encodeRequest(req: FindCoordinatorRequest): unknown {
  return { groupId: req.groupId };
}

export function decodeRequest(v: unknown): FindCoordinatorRequest {
  const o = asObject(v, 'FindCoordinator');
  return { groupId: asGroupId(field(o, 'groupId'), 'FindCoordinator.groupId') };
}

export function encodeResponse(res: FindCoordinatorResponse): unknown {
  return { error: wireErrorOut(res.error), nodeId: res.nodeId, host: res.host, port: res.port };
}

export function decodeResponse(v: unknown): FindCoordinatorResponse {
  const o = asObject(v, 'FindCoordinatorResponse');
  return {
    error: asNullableWireError(field(o, 'error'), 'FindCoordinatorResponse.error'),
    nodeId: asInt32OrMinusOne(field(o, 'nodeId'), 'FindCoordinatorResponse.nodeId'),
    host: asString(field(o, 'host'), 'FindCoordinatorResponse.host'),
    port: asInt32OrMinusOne(field(o, 'port'), 'FindCoordinatorResponse.port'),
  };
}
