/**
 * SyncGroup v0 (api key 14): after JoinGroup, the leader sends every member's assignment and each member
 * receives its own. The coordinator answers the followers once the leader's assignment arrives.
 *
 *   request  = { groupId: str (1..255 chars), memberId: str (non-empty), groupInstanceId: str | nil,
 *                generation: int32 >= -1, assignments: [ { memberId: str (non-empty), assignment: bin } ] }
 *   response = { error: WireError | nil, protocol: str | nil, assignment: bin }
 *
 * `assignments` is empty from every member but the leader.
 */
import type { SyncGroupRequest, SyncGroupResponse } from '../../messages.js';
import {
  asBytes,
  asNullableString,
  asNullableWireError,
  asObject,
  field,
  mapArray,
  wireErrorOut,
} from '../../narrow.js';
import { asGeneration, asGroupId, asMemberId } from '../group-fields.js';

export function encodeRequest(req: SyncGroupRequest): unknown {
  return {
    groupId: req.groupId,
    memberId: req.memberId,
    groupInstanceId: req.groupInstanceId,
    generation: req.generation,
    assignments: req.assignments.map((a) => ({ memberId: a.memberId, assignment: a.assignment })),
  };
}

export function decodeRequest(v: unknown): SyncGroupRequest {
  const o = asObject(v, 'SyncGroup');
  return {
    groupId: asGroupId(field(o, 'groupId'), 'SyncGroup.groupId'),
    memberId: asMemberId(field(o, 'memberId'), 'SyncGroup.memberId'),
    groupInstanceId: asNullableString(field(o, 'groupInstanceId'), 'SyncGroup.groupInstanceId'),
    generation: asGeneration(field(o, 'generation'), 'SyncGroup.generation'),
    assignments: mapArray(field(o, 'assignments'), 'SyncGroup.assignments', (item, path) => {
      const a = asObject(item, path);
      return {
        memberId: asMemberId(field(a, 'memberId'), `${path}.memberId`),
        assignment: asBytes(field(a, 'assignment'), `${path}.assignment`),
      };
    }),
  };
}

export function encodeResponse(res: SyncGroupResponse): unknown {
  return { error: wireErrorOut(res.error), protocol: res.protocol, assignment: res.assignment };
}

export function decodeResponse(v: unknown): SyncGroupResponse {
  const o = asObject(v, 'SyncGroupResponse');
  return {
    error: asNullableWireError(field(o, 'error'), 'SyncGroupResponse.error'),
    protocol: asNullableString(field(o, 'protocol'), 'SyncGroupResponse.protocol'),
    assignment: asBytes(field(o, 'assignment'), 'SyncGroupResponse.assignment'),
  };
}
