/** The partitions a consumer's assign() names, checked against the topics' metadata. */
import { StreamBusError } from '../errors/index.js';
import type { Cluster } from './cluster.js';
import type { TopicPartition } from './consumer.js';

/**
 * Every partition of each entry without `partition`, else the one named; UNKNOWN_TOPIC_OR_PARTITION for a
 * topic that does not exist or a partition it does not have.
 */
export async function partitionsNamed(
  cluster: Pick<Cluster, 'partitionCount'>,
  list: readonly { topic: string; partition?: number }[],
): Promise<TopicPartition[]> {
  const partitions: TopicPartition[] = [];
  for (const item of list) {
    const count = await cluster.partitionCount(item.topic, item.partition);
    const wanted = item.partition === undefined ? [...Array(count).keys()] : [item.partition];
    for (const partition of wanted) {
      if (!Number.isInteger(partition) || partition < 0 || partition >= count) {
        throw new StreamBusError('UNKNOWN_TOPIC_OR_PARTITION', {
          operation: 'consumer.assign',
          message: `${item.topic} has no partition ${partition} (it has ${count})`,
        });
      }
      partitions.push({ topic: item.topic, partition });
    }
  }
  return partitions;
}
