/**
 * A TopicCatalog for handler and router tests that serves one partition: no topics, no brokers, topic
 * admin that succeeds without doing anything. Tests override what they exercise.
 */
import type { ServedPartition, TopicCatalog } from '../../src/broker/catalog.js';

export function catalogServing(served: ServedPartition, overrides: Partial<TopicCatalog> = {}): TopicCatalog {
  return {
    listTopics: () => [],
    topic: () => undefined,
    brokers: () => [],
    controllerId: () => -1,
    placement: () => undefined,
    partition: () => served,
    highWatermarkHere: () => served.highWatermark(),
    createTopic: () => Promise.resolve(),
    validateTopic: () => {},
    deleteTopic: () => Promise.resolve(),
    deleteRecords: () => Promise.resolve(served.logStartOffset()),
    createPartitions: () => Promise.resolve(),
    describeConfigs: () => [],
    alterConfigs: () => Promise.resolve(),
    ...overrides,
  };
}
