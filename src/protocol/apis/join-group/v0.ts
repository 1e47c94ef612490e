/**
 * JoinGroup v0 (api key 13): a member joins (or rejoins) a group; the coordinator answers once the
 * rebalance completes, so the request may wait up to rebalanceTimeoutMs.
 *
 *   request  = { groupId: str (1..255 chars), memberId: str ('' on a first join), groupInstanceId: str | nil,
 *                sessionTimeoutMs: int32 >= 0, rebalanceTimeoutMs: int32 >= 0, protocolType: str,
 *                protocols: [ { name: str, metadata: bin } ] }
 *   response = { error: WireError | nil, generation: int32 >= -1, protocolType: str, protocol: str | nil,
 *                leaderId: str, memberId: str,
 *                members: [ { memberId: str (non-empty), groupInstanceId: str | nil, metadata: bin } ],
 *                skipAssignment: bool }
 *
 * `members` is filled for the leader only. Session and rebalance timeouts are only type-checked here; the
 * coordinator answers INVALID_SESSION_TIMEOUT against its configured range.
 */
import type { JoinGroupMember, JoinGroupRequest, JoinGroupResponse } from '../../messages.js';
import {
  asBool,
  asBytes,
  asNonNegInt32,
  asNullableString,
  asNullableWireError,
  asObject,
  asString,
  field,
  mapArray,
  wireErrorOut,
} from '../../narrow.js';
import { asGeneration, asGroupId, asMemberId, asMemberIdOrEmpty } from '../group-fields.js';

export function encodeRequest(req: JoinGroupRequest): unknown {
  return {
    groupId: req.groupId,
    memberId: req.memberId,
    groupInstanceId: req.groupInstanceId,
    sessionTimeoutMs: req.sessionTimeoutMs,
    rebalanceTimeoutMs: req.rebalanceTimeoutMs,
    protocolType: req.protocolType,
    protocols: req.protocols.map((p) => ({ name: p.name, metadata: p.metadata })),
  };
}

export function decodeRequest(v: unknown): JoinGroupRequest {
  const o = asObject(v, 'JoinGroup');
  return {
    groupId: asGroupId(field(o, 'groupId'), 'JoinGroup.groupId'),
    memberId: asMemberIdOrEmpty(field(o, 'memberId'), 'JoinGroup.memberId'),
    groupInstanceId: asNullableString(field(o, 'groupInstanceId'), 'JoinGroup.groupInstanceId'),
    sessionTimeoutMs: asNonNegInt32(field(o, 'sessionTimeoutMs'), 'JoinGroup.sessionTimeoutMs'),
    rebalanceTimeoutMs: asNonNegInt32(field(o, 'rebalanceTimeoutMs'), 'JoinGroup.rebalanceTimeoutMs'),
    protocolType: asString(field(o, 'protocolType'), 'JoinGroup.protocolType'),
    protocols: mapArray(field(o, 'protocols'), 'JoinGroup.protocols', (item, path) => {
      const p = asObject(item, path);
      return {
        name: asString(field(p, 'name'), `${path}.name`),
        metadata: asBytes(field(p, 'metadata'), `${path}.metadata`),
      };
    }),
  };
}

export function encodeResponse(res: JoinGroupResponse): unknown {
  return {
    error: wireErrorOut(res.error),
    generation: res.generation,
    protocolType: res.protocolType,
    protocol: res.protocol,
    leaderId: res.leaderId,
    memberId: res.memberId,
    members: res.members.map((m) => ({
      memberId: m.memberId,
      groupInstanceId: m.groupInstanceId,
      metadata: m.metadata,
    })),
    skipAssignment: res.skipAssignment,
  };
}

export function decodeResponse(v: unknown): JoinGroupResponse {
  const o = asObject(v, 'JoinGroupResponse');
  return {
    error: asNullableWireError(field(o, 'error'), 'JoinGroupResponse.error'),
    generation: asGeneration(field(o, 'generation'), 'JoinGroupResponse.generation'),
    protocolType: asString(field(o, 'protocolType'), 'JoinGroupResponse.protocolType'),
    protocol: asNullableString(field(o, 'protocol'), 'JoinGroupResponse.protocol'),
    leaderId: asMemberIdOrEmpty(field(o, 'leaderId'), 'JoinGroupResponse.leaderId'),
    memberId: asMemberIdOrEmpty(field(o, 'memberId'), 'JoinGroupResponse.memberId'),
    members: mapArray(field(o, 'members'), 'JoinGroupResponse.members', (item, path): JoinGroupMember => {
      const m = asObject(item, path);
      return {
        memberId: asMemberId(field(m, 'memberId'), `${path}.memberId`),
        groupInstanceId: asNullableString(field(m, 'groupInstanceId'), `${path}.groupInstanceId`),
        metadata: asBytes(field(m, 'metadata'), `${path}.metadata`),
      };
    }),
    skipAssignment: asBool(field(o, 'skipAssignment'), 'JoinGroupResponse.skipAssignment'),
  };
}
