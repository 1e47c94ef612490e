/**
 * DescribeGroups v0 (api key 20): state, generation and members of groups this broker coordinates.
 *
 *   request  = { groupIds: [ str (1..255 chars) ] }
 *   response = { groups: [ { groupId: str (1..255 chars), error: WireError | nil, state: str,
 *                            generation: int32 >= -1, protocolType: str, protocol: str | nil,
 *                            leaderId: str | nil,
 *                            members: [ { memberId: str (non-empty), groupInstanceId: str | nil,
 *                                         clientId: str, clientHost: str, assignment: bin } ] } ] }
 *
 * state is one of Kafka's group states (Empty, PreparingRebalance, CompletingRebalance, Stable, Dead) but is
 * read as any string, so a client keeps working when a broker adds one.
 */

import { CLIENT_ID_BYTES_MAX } from '../../limits.js';
import type {
  DescribedGroup,
  DescribeGroupsRequest,
  DescribeGroupsResponse,
  GroupMemberDescription,
} from '../../messages.js';
import {
  asBytes,
  asNullableString,
  asNullableWireError,
  asObject,
  asString,
  field,
  mapArray,
  wireErrorOut,
} from '../../narrow.js';
import { asGeneration, asGroupId, asGroupIds, asMemberId, asMemberIdOrEmpty } from '../group-fields.js';

export function encodeRequest(req: DescribeGroupsRequest): unknown {
  return { groupIds: [...req.groupIds] };
}

export function decodeRequest(v: unknown): DescribeGroupsRequest {
  const o = asObject(v, 'DescribeGroups');
  return { groupIds: asGroupIds(field(o, 'groupIds'), 'DescribeGroups.groupIds') };
}

export function encodeResponse(res: DescribeGroupsResponse): unknown {
  return {
    groups: res.groups.map((g) => ({
      groupId: g.groupId,
      error: wireErrorOut(g.error),
      state: g.state,
      generation: g.generation,
      protocolType: g.protocolType,
      protocol: g.protocol,
      leaderId: g.leaderId,
      members: g.members.map((m) => ({
        memberId: m.memberId,
        groupInstanceId: m.groupInstanceId,
        clientId: m.clientId,
        clientHost: m.clientHost,
        assignment: m.assignment,
      })),
    })),
  };
}

function decodeMember(item: unknown, path: string): GroupMemberDescription {
  const m = asObject(item, path);
  return {
    memberId: asMemberId(field(m, 'memberId'), `${path}.memberId`),
    groupInstanceId: asNullableString(field(m, 'groupInstanceId'), `${path}.groupInstanceId`),
    clientId: asString(field(m, 'clientId'), `${path}.clientId`, CLIENT_ID_BYTES_MAX),
    clientHost: asString(field(m, 'clientHost'), `${path}.clientHost`),
    assignment: asBytes(field(m, 'assignment'), `${path}.assignment`),
  };
}

function decodeGroup(item: unknown, path: string): DescribedGroup {
  const g = asObject(item, path);
  const leaderId = field(g, 'leaderId');
  return {
    groupId: asGroupId(field(g, 'groupId'), `${path}.groupId`),
    error: asNullableWireError(field(g, 'error'), `${path}.error`),
    state: asString(field(g, 'state'), `${path}.state`),
    generation: asGeneration(field(g, 'generation'), `${path}.generation`),
    protocolType: asString(field(g, 'protocolType'), `${path}.protocolType`),
    protocol: asNullableString(field(g, 'protocol'), `${path}.protocol`),
    leaderId: leaderId === null ? null : asMemberIdOrEmpty(leaderId, `${path}.leaderId`),
    members: mapArray(field(g, 'members'), `${path}.members`, decodeMember),
  };
}

export function decodeResponse(v: unknown): DescribeGroupsResponse {
  const o = asObject(v, 'DescribeGroupsResponse');
  return { groups: mapArray(field(o, 'groups'), 'DescribeGroupsResponse.groups', decodeGroup) };
}
