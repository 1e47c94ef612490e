/** The send trackers a producer works with: a failed send's promise never goes unhandled. */
import { describe, expect, it } from 'vitest';
import { settleFailed, trackSend } from '../../src/client/producer-batch.js';
import { StreamBusError } from '../../src/errors/index.js';

const tooLarge = () => new StreamBusError('BATCH_TOO_LARGE', { operation: 'producer.send' });

describe('trackSend', () => {
  it('a send that fails before anyone awaits it is no unhandled rejection, and its awaiter still gets the error', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): void => {
      unhandled.push(reason);
    };
    process.on('unhandledRejection', onUnhandled);
    try {
      const { tracker, settled } = trackSend(2);
      settleFailed(tracker, tooLarge());
      // Node reports a rejection nobody handled once the turn's microtasks have run.
      await new Promise((resolve) => setImmediate(resolve));
      expect(unhandled).toEqual([]);
      await expect(settled).rejects.toMatchObject({ code: 'BATCH_TOO_LARGE' });
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});
