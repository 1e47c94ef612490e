/**
 * alterBrokerState's decisions on a fake metadata store: which state changes an operator may ask for, and
 * that a refused or already-holding change writes nothing.
 */
import { describe, expect, it } from 'vitest';
import { alterBrokerState, type BrokerStateChangeDeps } from '../../src/broker/broker-state-change.js';
import type { MetadataView } from '../../src/metadata/index.js';
import type { BrokerRecord, BrokerState } from '../../src/metadata/types.js';
import { silentLogger } from '../../src/observability/index.js';

function fake(
  states: Record<number, BrokerState>,
  voters: readonly number[] = [1],
): {
  deps: BrokerStateChangeDeps;
  written: { brokerId: number; state: BrokerState }[];
} {
  const written: { brokerId: number; state: BrokerState }[] = [];
  const brokers = new Map<number, BrokerRecord>(
    Object.entries(states).map(([id, state]) => [
      Number(id),
      { id: Number(id), state } as unknown as BrokerRecord,
    ]),
  );
  const deps: BrokerStateChangeDeps = {
    store: {
      readLinearizable: async () => ({ brokers }) as unknown as MetadataView,
      updateBroker: async (b) => {
        written.push({ brokerId: b.brokerId, state: b.state as BrokerState });
        return { version: 1, result: { kind: 'ok' } } as never;
      },
    },
    logger: silentLogger(),
    metadataVoters: () => voters,
  };
  return { deps, written };
}

describe('alterBrokerState', () => {
  it('drains an alive broker and undrains a draining one', async () => {
    const { deps, written } = fake({ 2: 'alive', 3: 'draining' });
    await expect(alterBrokerState(deps, 2, 'drain')).resolves.toBe('draining');
    await expect(alterBrokerState(deps, 3, 'undrain')).resolves.toBe('alive');
    expect(written).toEqual([
      { brokerId: 2, state: 'draining' },
      { brokerId: 3, state: 'alive' },
    ]);
  });

  it('only a draining broker can be undrained: an alive one is refused, not reported as undrained', async () => {
    const { deps, written } = fake({ 3: 'alive', 4: 'failed' });
    await expect(alterBrokerState(deps, 3, 'undrain')).rejects.toMatchObject({
      code: 'METADATA_CONFLICT',
      message: expect.stringContaining('broker 3 is alive, not draining'),
    });
    await expect(alterBrokerState(deps, 4, 'undrain')).rejects.toMatchObject({
      code: 'METADATA_CONFLICT',
      message: expect.stringContaining('is failed, not draining'),
    });
    expect(written).toEqual([]);
  });

  it('a decommissioned broker is neither drained nor undrained; decommissioning it again changes nothing', async () => {
    const { deps, written } = fake({ 5: 'decommissioned' });
    for (const action of ['drain', 'undrain'] as const) {
      await expect(alterBrokerState(deps, 5, action)).rejects.toMatchObject({
        code: 'METADATA_CONFLICT',
        message: expect.stringContaining('is decommissioned; restart it'),
      });
    }
    await expect(alterBrokerState(deps, 5, 'decommission')).resolves.toBe('decommissioned');
    expect(written).toEqual([]);
  });

  it('draining a draining broker changes nothing; an unknown broker is UNKNOWN_BROKER', async () => {
    const { deps, written } = fake({ 3: 'draining' });
    await expect(alterBrokerState(deps, 3, 'drain')).resolves.toBe('draining');
    await expect(alterBrokerState(deps, 9, 'undrain')).rejects.toMatchObject({ code: 'UNKNOWN_BROKER' });
    expect(written).toEqual([]);
  });

  it('a metadata voter is not decommissioned: the operator is told to remove it from the voters first', async () => {
    const { deps, written } = fake({ 2: 'alive', 3: 'draining', 4: 'alive' }, [1, 2, 3]);
    for (const id of [2, 3]) {
      await expect(alterBrokerState(deps, id, 'decommission')).rejects.toMatchObject({
        code: 'METADATA_CONFLICT',
        message: expect.stringContaining(
          `broker ${id} is a metadata voter: run \`streambus cluster remove-voter ${id}\` first`,
        ),
      });
    }
    // A learner is decommissioned; a voter may still be drained.
    await expect(alterBrokerState(deps, 4, 'decommission')).resolves.toBe('decommissioned');
    await expect(alterBrokerState(deps, 2, 'drain')).resolves.toBe('draining');
    expect(written).toEqual([
      { brokerId: 4, state: 'decommissioned' },
      { brokerId: 2, state: 'draining' },
    ]);
  });
});
