/**
 * The idempotent producer's identity after batches fail for good: the next epoch of the same producer id
 * (no broker asked), sequences from 0 again; past the largest epoch (int16) a new producer id, asked of the
 * broker, as Kafka's producer does.
 */
import { describe, expect, it } from 'vitest';
import { IdempotenceState, PRODUCER_EPOCH_MAX, type ProducerIdentity } from '../../src/client/idempotence.js';

function stateFrom(identities: ProducerIdentity[]): { state: IdempotenceState; fetches: () => number } {
  let fetched = 0;
  const state = new IdempotenceState(async () => identities[fetched++]!);
  return { state, fetches: () => fetched };
}

/** Builds one batch of partition 0 under the current identity and fails it for good. */
function failOne(state: IdempotenceState): void {
  const identity = state.current()!;
  const { ordinal } = state.takeSequence('t', 0, 1);
  state.failedForGood({ ...identity, topic: 't', partition: 0, ordinal });
}

describe('IdempotenceState after a batch fails for good', () => {
  it('moves to the next epoch of the same id and starts sequences again at 0, without asking the broker', async () => {
    const { state, fetches } = stateFrom([{ producerId: 7, producerEpoch: 0 }]);
    await state.ensure();
    state.takeSequence('t', 0, 3);
    failOne(state);
    expect(state.current()).toEqual({ producerId: 7, producerEpoch: 1 });
    expect(state.takeSequence('t', 0, 1).baseSequence).toBe(0);
    expect(fetches()).toBe(1);
  });

  it(`past epoch ${PRODUCER_EPOCH_MAX} takes a new producer id from the broker`, async () => {
    const { state, fetches } = stateFrom([
      { producerId: 7, producerEpoch: PRODUCER_EPOCH_MAX - 1 },
      { producerId: 8, producerEpoch: 0 },
    ]);
    await state.ensure();
    failOne(state);
    expect(state.current()).toEqual({ producerId: 7, producerEpoch: PRODUCER_EPOCH_MAX });
    failOne(state);
    // No epoch left for id 7: the next identity must come from InitProducerId.
    expect(state.current()).toBeNull();
    expect(await state.ensure()).toEqual({ producerId: 8, producerEpoch: 0 });
    expect(fetches()).toBe(2);
    expect(state.takeSequence('t', 0, 1).baseSequence).toBe(0);
  });
});
