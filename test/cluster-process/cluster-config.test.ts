/** The cluster.* keys: off by default, voters parsed and validated, cluster mode refused without them. */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { parseVoters } from '../../src/config/voters.js';
import { isStreamBusError } from '../../src/errors/index.js';

function configError(env: Record<string, string>): string {
  try {
    loadConfig({ env });
  } catch (err) {
    expect(isStreamBusError(err, 'INVALID_CONFIG')).toBe(true);
    return (err as Error).message;
  }
  throw new Error('expected INVALID_CONFIG');
}

const THREE = '1@10.0.0.1:9093,2@10.0.0.2:9093,3@[::1]:9093';

describe('cluster config', () => {
  it('leaves a broker single-node unless cluster.enabled is set', () => {
    expect(loadConfig({ env: {} }).cluster).toMatchObject({
      enabled: false,
      peerListen: '0.0.0.0:9093',
      advertisedPeerListen: null,
      voters: null,
    });
  });

  it('reads the voters from the env as a comma-separated list of id@host:port', () => {
    const config = loadConfig({
      env: {
        STREAMBUS_BROKER_ID: '2',
        STREAMBUS_CLUSTER_ENABLED: 'true',
        STREAMBUS_CLUSTER_PEER_LISTEN: '127.0.0.1:7001',
        STREAMBUS_CLUSTER_ADVERTISED_PEER_LISTEN: 'b2.example:7001',
        STREAMBUS_CLUSTER_VOTERS: ` ${THREE.replaceAll(',', ' , ')} `,
      },
    });
    expect(config.cluster).toMatchObject({
      enabled: true,
      peerListen: '127.0.0.1:7001',
      advertisedPeerListen: 'b2.example:7001',
      voters: [
        { id: 1, host: '10.0.0.1', port: 9093 },
        { id: 2, host: '10.0.0.2', port: 9093 },
        { id: 3, host: '::1', port: 9093 },
      ],
    });
  });

  it('refuses cluster mode without voters, naming the key', () => {
    expect(configError({ STREAMBUS_CLUSTER_ENABLED: 'true' })).toContain('cluster.voters: required');
  });

  it('refuses an even or oversized quorum, and repeated ids or addresses', () => {
    const on = { STREAMBUS_CLUSTER_ENABLED: 'true' };
    expect(configError({ ...on, STREAMBUS_CLUSTER_VOTERS: '1@h:1,2@h:2' })).toContain('1, 3 or 5');
    expect(
      configError({ ...on, STREAMBUS_CLUSTER_VOTERS: '1@h:1,2@h:2,3@h:3,4@h:4,5@h:5,6@h:6,7@h:7' }),
    ).toContain('1, 3 or 5');
    expect(configError({ ...on, STREAMBUS_CLUSTER_VOTERS: '1@h:1,1@h:2,3@h:3' })).toContain(
      'ids must be unique',
    );
    expect(configError({ ...on, STREAMBUS_CLUSTER_VOTERS: '1@h:1,2@h:1,3@h:3' })).toContain(
      'addresses must be unique',
    );
    expect(configError({ ...on, STREAMBUS_CLUSTER_VOTERS: '1@h:0' })).toContain('port > 0');
    expect(configError({ ...on, STREAMBUS_CLUSTER_VOTERS: 'one@h:1' })).toContain('cluster.voters');
  });

  it('accepts a broker outside the voter list: it joins as a non-voter', () => {
    const config = loadConfig({
      env: { STREAMBUS_BROKER_ID: '4', STREAMBUS_CLUSTER_ENABLED: 'true', STREAMBUS_CLUSTER_VOTERS: '1@h:1' },
    });
    expect(config.cluster.voters?.map((v) => v.id)).toEqual([1]);
    expect(config.broker.id).toBe(4);
  });

  it('checks a set voter list even while cluster mode is off', () => {
    expect(configError({ STREAMBUS_CLUSTER_VOTERS: '1@h:1,2@h:2' })).toContain('1, 3 or 5');
  });

  it('parses exactly the ids and addresses written', () => {
    expect(parseVoters('7@a:1', 7)).toEqual({ ok: true, voters: [{ id: 7, host: 'a', port: 1 }] });
    expect(parseVoters('0@a:1', 7).ok).toBe(false);
  });
});
