/**
 * ListGroups v0 (api key 19): the groups the answering broker coordinates (ask every broker for all).
 *
 *   request  = { }                                  (extra keys are ignored)
 *   response = { error: WireError | nil,
 *                groups: [ { groupId: str (1..255 chars), protocolType: str, state: str } ] }
 *
 * protocolType is '' for a group that only ever committed offsets (no member joined).
 */
import type { ListGroupsRequest, ListGroupsResponse } from '../../messages.js';
import { asNullableWireError, asObject, asString, field, mapArray, wireErrorOut } from '../../narrow.js';
import { asGroupId } from '../group-fields.js';

export function encodeRequest(_req: ListGroupsRequest): unknown {
  return {};
}

export function decodeRequest(v: unknown): ListGroupsRequest {
  asObject(v, 'ListGroups');
  return {};
}

export function encodeResponse(res: ListGroupsResponse): unknown {
  return {
    error: wireErrorOut(res.error),
    groups: res.groups.map((g) => ({ groupId: g.groupId, protocolType: g.protocolType, state: g.state })),
  };
}

export function decodeResponse(v: unknown): ListGroupsResponse {
  const o = asObject(v, 'ListGroupsResponse');
  return {
    error: asNullableWireError(field(o, 'error'), 'ListGroupsResponse.error'),
    groups: mapArray(field(o, 'groups'), 'ListGroupsResponse.groups', (item, path) => {
      const g = asObject(item, path);
      return {
        groupId: asGroupId(field(g, 'groupId'), `${path}.groupId`),
        protocolType: asString(field(g, 'protocolType'), `${path}.protocolType`),
        state: asString(field(g, 'state'), `${path}.state`),
      };
    }),
  };
}
