/**
 * Chunked encoding (large record batches by reference) gives a frame that decodes to what was encoded,
 * whatever ran before it: msgpackr reuses one buffer, so the space reserved for the frame header holds stale bytes of
 * earlier bodies, placeholders included, and a placeholder search that looked there split the frame in the
 * wrong place (the header then did not fit its first chunk). Seeded sequences of produce requests mixing
 * small and large batches; the seed is printed and CHUNKED_SEED replays a run.
 */
import { describe, expect, it } from 'vitest';
import { BIN_BY_REFERENCE_BYTES_MIN } from '../../src/protocol/body.js';
import {
  ApiKey,
  decodeRequestBody,
  decodeRequestHeader,
  encodeRequestChunks,
  type ProduceRequest,
} from '../../src/protocol/index.js';
import { mulberry32 } from '../../src/raft/core/rand.js';

const SEED = Number(process.env.CHUNKED_SEED ?? Math.floor(Math.random() * 2 ** 31));
console.log(`chunked encode seed ${SEED} (replay with CHUNKED_SEED=${SEED})`);

describe('encodeRequestChunks', () => {
  it('decodes to what was encoded, header in its first chunk, across 4,000 requests in a row', () => {
    const random = mulberry32(SEED);
    const large = Buffer.alloc(BIN_BY_REFERENCE_BYTES_MIN + 4096, 7);
    for (let i = 0; i < 4000; i++) {
      const partitions = 1 + Math.floor(random() * 4);
      const body: ProduceRequest = {
        acks: 1,
        timeoutMs: 30_000,
        partitions: Array.from({ length: partitions }, (_, partition) => {
          const size =
            random() < 0.5
              ? 1 + Math.floor(random() * 4000)
              : BIN_BY_REFERENCE_BYTES_MIN + Math.floor(random() * 4096);
          return { topic: `t${Math.floor(random() * 3)}`, partition, records: large.subarray(0, size) };
        }),
      };
      const header = {
        apiKey: ApiKey.Produce,
        apiVersion: 0,
        correlationId: i,
        clientId: 'chunked',
      } as const;
      const chunks = encodeRequestChunks(header, body);
      expect(chunks[0]!.length).toBeGreaterThan(12);
      const frame = Buffer.concat(chunks);
      expect(frame.readUInt32BE(0)).toBe(frame.length - 4);
      const decoded = decodeRequestHeader(frame.subarray(4));
      expect(decoded.header.correlationId).toBe(i);
      const back = decodeRequestBody(
        ApiKey.Produce,
        0,
        frame.subarray(4 + decoded.bodyOffset),
      ) as ProduceRequest;
      expect(back.partitions.map((p) => [p.topic, p.partition, p.records.length])).toEqual(
        body.partitions.map((p) => [p.topic, p.partition, p.records.length]),
      );
      expect(back.partitions.every((p) => p.records.every((b) => b === 7))).toBe(true);
    }
  });
});
