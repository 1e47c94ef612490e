/** `{ type: "topic" | "cluster" | "client", name: str }`, shared by the DescribeConfigs and AlterConfigs codecs. */
import type { ConfigResource, ConfigResourceType } from '../config-messages.js';
import { asString, field, invalid, type WireObject } from '../narrow.js';

const TYPES: ReadonlySet<string> = new Set<ConfigResourceType>(['topic', 'cluster', 'client']);

export function decodeConfigResource(o: WireObject, path: string): ConfigResource {
  const type = field(o, 'type');
  if (typeof type !== 'string' || !TYPES.has(type))
    return invalid(`${path}.type`, 'one of topic, cluster, client');
  return { type: type as ConfigResourceType, name: asString(field(o, 'name'), `${path}.name`) };
}
