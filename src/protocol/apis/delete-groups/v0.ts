/**
 * DeleteGroups v0 (api key 21): delete empty groups and their committed offsets.
 *
 *   request  = { groupIds: [ str (1..255 chars) ] }
 *   response = { groups: [ { groupId: str (1..255 chars), error: WireError | nil } ] }
 *
 * A group with members answers NON_EMPTY_GROUP; one with nothing to delete GROUP_ID_NOT_FOUND.
 */
import type { DeleteGroupsRequest, DeleteGroupsResponse } from '../../messages.js';
import { asNullableWireError, asObject, field, mapArray, wireErrorOut } from '../../narrow.js';
import { asGroupId, asGroupIds } from '../group-fields.js';

export function encodeRequest(req: DeleteGroupsRequest): unknown {
  return { groupIds: [...req.groupIds] };
}

export function decodeRequest(v: unknown): DeleteGroupsRequest {
  const o = asObject(v, 'DeleteGroups');
  return { groupIds: asGroupIds(field(o, 'groupIds'), 'DeleteGroups.groupIds') };
}

export function encodeResponse(res: DeleteGroupsResponse): unknown {
  return { groups: res.groups.map((g) => ({ groupId: g.groupId, error: wireErrorOut(g.error) })) };
}

export function decodeResponse(v: unknown): DeleteGroupsResponse {
  const o = asObject(v, 'DeleteGroupsResponse');
  return {
    groups: mapArray(field(o, 'groups'), 'DeleteGroupsResponse.groups', (item, path) => {
      const g = asObject(item, path);
      return {
        groupId: asGroupId(field(g, 'groupId'), `${path}.groupId`),
        error: asNullableWireError(field(g, 'error'), `${path}.error`),
      };
    }),
  };
}
