/**
 * Which partition a record goes to (`Partitioner`, below). Keys use Kafka's default partitioner: murmur2
 * (Utils.murmur2 in the Java client, seed 0x9747b28c) and `toPositive(hash) % numPartitions`, so keyed records
 * land on the same partition as with any Kafka client. Math.imul keeps every multiplication in 32-bit two's
 * complement, as Java's int does.
 */
import { StreamBusError } from '../errors/index.js';

const SEED = 0x9747b28c;
const M = 0x5bd1e995;
const R = 24;

/** Signed 32-bit murmur2 hash of `data`, bit-identical to org.apache.kafka.common.utils.Utils.murmur2. */
export function murmur2(data: Uint8Array): number {
  const length = data.length;
  let h = SEED ^ length;
  const length4 = length >>> 2;
  for (let i = 0; i < length4; i++) {
    const i4 = i * 4;
    let k = data[i4]! | (data[i4 + 1]! << 8) | (data[i4 + 2]! << 16) | (data[i4 + 3]! << 24);
    k = Math.imul(k, M);
    k ^= k >>> R;
    k = Math.imul(k, M);
    h = Math.imul(h, M);
    h ^= k;
  }
  const tail = length & ~3;
  // The tail bytes mix in the order of Java's fall-through switch: byte 2, then 1, then 0 and a multiply.
  const rem = length & 3;
  if (rem === 3) h ^= data[tail + 2]! << 16;
  if (rem >= 2) h ^= data[tail + 1]! << 8;
  if (rem >= 1) {
    h ^= data[tail]!;
    h = Math.imul(h, M);
  }
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

/** The partition Kafka's default partitioner picks for a key. */
export function partitionForKey(key: Uint8Array | string, numPartitions: number): number {
  const bytes = typeof key === 'string' ? Buffer.from(key) : key;
  return (murmur2(bytes) & 0x7fffffff) % numPartitions;
}

/** What the partitioner reads of a message: an explicit partition wins, then the key. */
export interface PartitionedMessage {
  key?: Uint8Array | string | null;
  partition?: number;
}

/**
 * The producer's partition choice: an explicit partition (checked against the topic's count), else the
 * key's murmur2 partition, else the topic's sticky partition: keyless messages fill one batch on one
 * partition, and each sealed batch moves the topic on to the next partition (Kafka's sticky partitioner,
 * KIP-480), starting at a random one.
 */
export class Partitioner {
  private readonly sticky = new Map<string, number>();

  constructor(private readonly random: () => number) {}

  choose(topic: string, message: PartitionedMessage, partitions: number): number {
    if (message.partition !== undefined) {
      if (!Number.isInteger(message.partition) || message.partition < 0 || message.partition >= partitions) {
        throw new StreamBusError('UNKNOWN_TOPIC_OR_PARTITION', {
          operation: 'producer.send',
          message: `partition ${message.partition} does not exist: ${topic} has ${partitions}`,
        });
      }
      return message.partition;
    }
    if (message.key !== null && message.key !== undefined) return partitionForKey(message.key, partitions);
    let p = this.sticky.get(topic);
    if (p === undefined) p = Math.floor(this.random() * partitions);
    p %= partitions;
    this.sticky.set(topic, p);
    return p;
  }

  /** A batch of `topic` was sealed: the next keyless batch goes to the next partition. */
  batchSealed(topic: string, partition: number): void {
    if (this.sticky.get(topic) === partition) this.sticky.set(topic, partition + 1);
  }
}
