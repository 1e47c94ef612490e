/**
 * LeaveGroup v0 (api key 16): members leave a group at once (a consumer closing, or an admin removing
 * static members by instance id), which starts a rebalance without waiting for their sessions to expire.
 *
 *   request  = { groupId: str (1..255 chars),
 *                members: [ { memberId: str, groupInstanceId: str | nil } ] }
 *   response = { error: WireError | nil,
 *                members: [ { memberId: str, groupInstanceId: str | nil, error: WireError | nil } ] }
 *
 * A member's memberId may be '' only when it names a static member by groupInstanceId (Kafka's
 * KIP-345 admin removal); otherwise the member could not be identified.
 */
import type { LeaveGroupRequest, LeaveGroupResponse } from '../../messages.js';
import {
  asNullableString,
  asNullableWireError,
  asObject,
  field,
  invalid,
  mapArray,
  wireErrorOut,
} from '../../narrow.js';
import { asGroupId, asMemberIdOrEmpty } from '../group-fields.js';

export function encodeRequest(req: LeaveGroupRequest): unknown {
  return {
    groupId: req.groupId,
    members: req.members.map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId })),
  };
}

export function decodeRequest(v: unknown): LeaveGroupRequest {
  const o = asObject(v, 'LeaveGroup');
  return {
    groupId: asGroupId(field(o, 'groupId'), 'LeaveGroup.groupId'),
    members: mapArray(field(o, 'members'), 'LeaveGroup.members', (item, path) => {
      const m = asObject(item, path);
      const memberId = asMemberIdOrEmpty(field(m, 'memberId'), `${path}.memberId`);
      const groupInstanceId = asNullableString(field(m, 'groupInstanceId'), `${path}.groupInstanceId`);
      if (memberId === '' && groupInstanceId === null) {
        return invalid(`${path}.memberId`, 'a non-empty string unless groupInstanceId is set');
      }
      return { memberId, groupInstanceId };
    }),
  };
}

export function encodeResponse(res: LeaveGroupResponse): unknown {
  return {
    error: wireErrorOut(res.error),
    members: res.members.map((m) => ({
      memberId: m.memberId,
      groupInstanceId: m.groupInstanceId,
      error: wireErrorOut(m.error),
    })),
  };
}

export function decodeResponse(v: unknown): LeaveGroupResponse {
  const o = asObject(v, 'LeaveGroupResponse');
  return {
    error: asNullableWireError(field(o, 'error'), 'LeaveGroupResponse.error'),
    members: mapArray(field(o, 'members'), 'LeaveGroupResponse.members', (item, path) => {
      const m = asObject(item, path);
      return {
        memberId: asMemberIdOrEmpty(field(m, 'memberId'), `${path}.memberId`),
        groupInstanceId: asNullableString(field(m, 'groupInstanceId'), `${path}.groupInstanceId`),
        error: asNullableWireError(field(m, 'error'), `${path}.error`),
      };
    }),
  };
}
