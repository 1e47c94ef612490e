/**
 * cluster.voters for the two kinds of broker that read it: a founding voter (named in the list) founds the
 * metadata quorum with it, so the list must be a quorum of 1, 3 or 5; a joining broker (not named) only
 * contacts the group through it, so any current voters it lists will do, up to CONTACT_VOTERS_MAX
 * (operations.md, "Change the metadata voters": after a failure the survivors may be two).
 */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { CONTACT_VOTERS_MAX, parseVoters } from '../../src/config/voters.js';
import { isStreamBusError } from '../../src/errors/index.js';

const list = (ids: readonly number[]) => ids.map((id) => `${id}@h:${9000 + id}`).join(',');

describe('cluster.voters', () => {
  it('a founding voter must list a quorum of 1, 3 or 5', () => {
    for (const ids of [
      [1, 2],
      [1, 2, 3, 4],
      [1, 2, 3, 4, 5, 6],
    ]) {
      const parsed = parseVoters(list(ids), 1);
      expect(parsed.ok).toBe(false);
      expect(parsed.ok ? '' : parsed.problem).toContain('1, 3 or 5');
    }
    for (const ids of [[1], [1, 2, 3], [1, 2, 3, 4, 5]]) expect(parseVoters(list(ids), 1).ok).toBe(true);
  });

  it('a joining broker may list any 1 to CONTACT_VOTERS_MAX current voters to contact', () => {
    expect(parseVoters(list([1, 2]), 5)).toEqual({
      ok: true,
      voters: [
        { id: 1, host: 'h', port: 9001 },
        { id: 2, host: 'h', port: 9002 },
      ],
    });
    expect(parseVoters(list([1, 2, 3, 4]), 9).ok).toBe(true);
    const tooMany = Array.from({ length: CONTACT_VOTERS_MAX + 1 }, (_, i) => i + 1);
    const parsed = parseVoters(list(tooMany), 99);
    expect(parsed.ok ? '' : parsed.problem).toContain(`contacts at most ${CONTACT_VOTERS_MAX}`);
  });

  it('ids and addresses must be unique for a joiner too', () => {
    const ids = parseVoters('1@h:1,1@h:2', 5);
    expect(ids.ok ? '' : ids.problem).toContain('ids must be unique');
    const addresses = parseVoters('1@h:1,2@h:1', 5);
    expect(addresses.ok ? '' : addresses.problem).toContain('addresses must be unique');
  });

  it('the loaded config decides by broker.id: two survivors are contacts for broker 5, no quorum for broker 1', () => {
    const env = {
      STREAMBUS_CLUSTER_ENABLED: 'true',
      STREAMBUS_CLUSTER_VOTERS: '1@127.0.0.1:9093,2@127.0.0.2:9093',
    };
    const joiner = loadConfig({ env: { ...env, STREAMBUS_BROKER_ID: '5' } });
    expect(joiner.cluster.voters?.map((v) => v.id)).toEqual([1, 2]);
    let refused: unknown;
    try {
      loadConfig({ env: { ...env, STREAMBUS_BROKER_ID: '1' } });
    } catch (err) {
      refused = err;
    }
    expect(isStreamBusError(refused, 'INVALID_CONFIG')).toBe(true);
    expect((refused as Error).message).toContain('cluster.voters: 2 voters; a metadata quorum has 1, 3 or 5');
  });
});
