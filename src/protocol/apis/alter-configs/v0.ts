/**
 * AlterConfigs v0 (api key 23), incremental like Kafka's IncrementalAlterConfigs: per resource, keys to
 * set and keys to delete at that level; keys not named keep their value. Any broker accepts it; in cluster
 * mode the change goes through the metadata store, so every broker applies it.
 *
 *   request  = { resources: [ { type: "topic" | "cluster" | "client", name: str, set: { str: str }, delete: [str] } ],
 *                validateOnly: bool }
 *   response = { resources: [ { type: "topic" | "cluster" | "client", name: str, error: WireError | nil } ] }
 *
 * Keys and values are only type-checked here; the broker answers INVALID_TOPIC_CONFIG per resource.
 */
import type { AlterConfigsRequest, AlterConfigsResponse } from '../../config-messages.js';
import { CONFIG_ENTRIES_MAX } from '../../limits.js';
import {
  asBool,
  asNullableWireError,
  asObject,
  asString,
  asStringMap,
  field,
  mapArray,
  wireErrorOut,
} from '../../narrow.js';
import { decodeConfigResource } from '../config-resource.js';

export function encodeRequest(req: AlterConfigsRequest): unknown {
  return {
    resources: req.resources.map((r) => ({
      type: r.type,
      name: r.name,
      set: { ...r.set },
      delete: [...r.delete],
    })),
    validateOnly: req.validateOnly,
  };
}

export function decodeRequest(v: unknown): AlterConfigsRequest {
  const o = asObject(v, 'AlterConfigs');
  return {
    resources: mapArray(field(o, 'resources'), 'AlterConfigs.resources', (item, path) => {
      const r = asObject(item, path);
      return {
        ...decodeConfigResource(r, path),
        set: asStringMap(field(r, 'set'), `${path}.set`),
        delete: mapArray(
          field(r, 'delete'),
          `${path}.delete`,
          (key, keyPath) => asString(key, keyPath),
          CONFIG_ENTRIES_MAX,
        ),
      };
    }),
    validateOnly: asBool(field(o, 'validateOnly'), 'AlterConfigs.validateOnly'),
  };
}

export function encodeResponse(res: AlterConfigsResponse): unknown {
  return {
    resources: res.resources.map((r) => ({ type: r.type, name: r.name, error: wireErrorOut(r.error) })),
  };
}

export function decodeResponse(v: unknown): AlterConfigsResponse {
  const o = asObject(v, 'AlterConfigsResponse');
  return {
    resources: mapArray(field(o, 'resources'), 'AlterConfigsResponse.resources', (item, path) => {
      const r = asObject(item, path);
      return {
        ...decodeConfigResource(r, path),
        error: asNullableWireError(field(r, 'error'), `${path}.error`),
      };
    }),
  };
}
