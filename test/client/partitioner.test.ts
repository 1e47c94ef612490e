import { describe, expect, it } from 'vitest';
import { murmur2, Partitioner, partitionForKey } from '../../src/client/partitioner.js';

describe('murmur2 is bit-identical to Kafka Utils.murmur2', () => {
  // Kafka's own vectors: clients/src/test/java/org/apache/kafka/common/utils/UtilsTest.java testMurmur2.
  const kafkaUtilsTest: [string, number][] = [
    ['21', -973932308],
    ['foobar', -790332482],
    ['a-little-bit-long-string', -985981536],
    ['a-little-bit-longer-string', -1486304829],
    ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
    ['abc', 479470107],
  ];
  // Vectors other clients pin against the Java client (akka-cluster-sharding Murmur2Spec; "" from a Rust
  // port). Not kafkajs's legacy partitioner vectors: that one is known not to match Java.
  const crossChecked: [string, number][] = [
    ['', 275646681],
    ['1', -1993445489],
    ['12', 126087238],
    ['123', -267702483],
    ['1234', -1614185708],
    ['12345', -1188365604],
  ];
  for (const [input, expected] of [...kafkaUtilsTest, ...crossChecked]) {
    it(`murmur2(${JSON.stringify(input)}) = ${expected}`, () => {
      expect(murmur2(Buffer.from(input))).toBe(expected);
    });
  }
});

describe('partitionForKey', () => {
  it('is toPositive(murmur2(key)) % numPartitions, like the Java default partitioner', () => {
    expect(partitionForKey('21', 7)).toBe((-973932308 & 0x7fffffff) % 7);
    expect(partitionForKey(Buffer.from('foobar'), 3)).toBe((-790332482 & 0x7fffffff) % 3);
  });
  it('is stable for a key and always within range', () => {
    for (let i = 0; i < 500; i++) {
      const p = partitionForKey(`key-${i}`, 12);
      expect(p).toBeGreaterThanOrEqual(0);
      expect(p).toBeLessThan(12);
      expect(partitionForKey(`key-${i}`, 12)).toBe(p);
    }
  });
});

describe('Partitioner', () => {
  it('takes an explicit partition, rejecting one the topic does not have', () => {
    const p = new Partitioner(() => 0);
    expect(p.choose('t', { partition: 2, key: 'k' }, 3)).toBe(2);
    expect(() => p.choose('t', { partition: 3 }, 3)).toThrow(/partition 3 does not exist/);
    expect(() => p.choose('t', { partition: 1.5 }, 3)).toThrow(/does not exist/);
  });

  it('sends a key to its murmur2 partition', () => {
    const p = new Partitioner(() => 0.99);
    expect(p.choose('t', { key: 'order-17' }, 6)).toBe(partitionForKey('order-17', 6));
  });

  it('keeps keyless messages on one partition until a batch of it is sealed, then moves on and wraps', () => {
    const p = new Partitioner(() => 0.5); // starts at floor(0.5 * 3) = 1
    expect([p.choose('t', {}, 3), p.choose('t', {}, 3)]).toEqual([1, 1]);
    p.batchSealed('t', 0); // another partition's batch: no move
    expect(p.choose('t', {}, 3)).toBe(1);
    p.batchSealed('t', 1);
    expect(p.choose('t', {}, 3)).toBe(2);
    p.batchSealed('t', 2);
    expect(p.choose('t', {}, 3)).toBe(0);
    expect(p.choose('other', {}, 4)).toBe(2); // each topic has its own
  });
});
