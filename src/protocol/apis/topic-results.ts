/** `[ { name: str, error: WireError | nil } ]`, shared by CreateTopics and DeleteTopics responses. */
import type { TopicResult } from '../messages.js';
import { asNullableWireError, asObject, asString, field, mapArray, wireErrorOut } from '../narrow.js';

export function encodeTopicResults(results: readonly TopicResult[]): unknown {
  return results.map((t) => ({ name: t.name, error: wireErrorOut(t.error) }));
}

export function decodeTopicResults(v: unknown, path: string): TopicResult[] {
  return mapArray(v, path, (item, itemPath) => {
    const t = asObject(item, itemPath);
    return {
      name: asString(field(t, 'name'), `${itemPath}.name`),
      error: asNullableWireError(field(t, 'error'), `${itemPath}.error`),
    };
  });
}
