/**
 * DescribeConfigs v0 (api key 22): the effective topic-level configs of topics or of the cluster (its
 * topic defaults), or the quotas of client ids, each key with its source. Answered from the broker's local metadata view.
 *
 *   request  = { resources: [ { type: "topic" | "cluster" | "client", name: str } ] }
 *   response = { resources: [ { type: "topic" | "cluster" | "client", name: str, error: WireError | nil,
 *                               entries: [ { key: str, value: str,
 *                                            source: "topic" | "cluster" | "client" | "client-default" | "default" } ] } ] }
 */
import type { ConfigSource, DescribeConfigsRequest, DescribeConfigsResponse } from '../../config-messages.js';
import { CONFIG_ENTRIES_MAX } from '../../limits.js';
import {
  asNullableWireError,
  asObject,
  asString,
  asText,
  field,
  invalid,
  mapArray,
  wireErrorOut,
} from '../../narrow.js';
import { decodeConfigResource } from '../config-resource.js';

const SOURCES: ReadonlySet<string> = new Set<ConfigSource>([
  'topic',
  'cluster',
  'client',
  'client-default',
  'default',
]);

export function encodeRequest(req: DescribeConfigsRequest): unknown {
  return { resources: req.resources.map((r) => ({ type: r.type, name: r.name })) };
}

export function decodeRequest(v: unknown): DescribeConfigsRequest {
  const o = asObject(v, 'DescribeConfigs');
  return {
    resources: mapArray(field(o, 'resources'), 'DescribeConfigs.resources', (item, path) =>
      decodeConfigResource(asObject(item, path), path),
    ),
  };
}

export function encodeResponse(res: DescribeConfigsResponse): unknown {
  return {
    resources: res.resources.map((r) => ({
      type: r.type,
      name: r.name,
      error: wireErrorOut(r.error),
      entries: r.entries.map((e) => ({ key: e.key, value: e.value, source: e.source })),
    })),
  };
}

export function decodeResponse(v: unknown): DescribeConfigsResponse {
  const o = asObject(v, 'DescribeConfigsResponse');
  return {
    resources: mapArray(field(o, 'resources'), 'DescribeConfigsResponse.resources', (item, path) => {
      const r = asObject(item, path);
      return {
        ...decodeConfigResource(r, path),
        error: asNullableWireError(field(r, 'error'), `${path}.error`),
        entries: mapArray(
          field(r, 'entries'),
          `${path}.entries`,
          (entry, entryPath) => {
            const e = asObject(entry, entryPath);
            const source = field(e, 'source');
            if (typeof source !== 'string' || !SOURCES.has(source)) {
              return invalid(`${entryPath}.source`, 'one of topic, cluster, client, client-default, default');
            }
            return {
              key: asString(field(e, 'key'), `${entryPath}.key`),
              value: asText(field(e, 'value'), `${entryPath}.value`),
              source: source as ConfigSource,
            };
          },
          CONFIG_ENTRIES_MAX,
        ),
      };
    }),
  };
}
