/**
 * Admin config calls on client resources over a fake cluster: they need cluster feature level 6, asked of
 * the cluster first (DescribeCluster), so a rolling upgrade not finished reads as FEATURE_NOT_FINALIZED
 * rather than the INVALID_REQUEST an older broker's decoder answers for a resource type it does not know.
 */
import { describe, expect, it } from 'vitest';
import { Admin } from '../../src/client/admin.js';
import type { Cluster } from '../../src/client/cluster.js';
import { StreamBusError } from '../../src/errors/index.js';
import { FEATURE } from '../../src/metadata/feature-levels.js';
import { ApiKey } from '../../src/protocol/index.js';

interface Sent {
  apiKey: number;
  apiVersion: number | undefined;
}

/**
 * A cluster whose DescribeCluster answers `cluster` at v1 (`'v0 only'`: a build before feature levels,
 * which refuses v1 and answers v0 without levels), and whose config calls answer as an older broker's
 * decoder would (`configs: 'undecodable'`) or with no error.
 */
function fakeCluster(cluster: Record<string, unknown> | 'v0 only', configs: 'undecodable' | 'ok') {
  const sent: Sent[] = [];
  const answer = (apiKey: number, body: unknown, apiVersion: number | undefined): unknown => {
    sent.push({ apiKey, apiVersion });
    if (apiKey === ApiKey.DescribeCluster) {
      if (cluster !== 'v0 only') return cluster;
      if (apiVersion === 1) throw new StreamBusError('UNSUPPORTED_VERSION', { message: 'v1' });
      return { brokerId: 2, brokers: [{ id: 1 }, { id: 2 }] };
    }
    if (configs === 'undecodable') {
      throw new StreamBusError('INVALID_REQUEST', {
        message: 'resources[0].type: expected one of topic, cluster',
      });
    }
    const resources = (body as { resources: { type: string; name: string }[] }).resources;
    return { resources: resources.map((r) => ({ ...r, error: null, entries: [] })) };
  };
  const fake = {
    metadata: async () => ({ controllerId: -1, brokers: [], topics: [] }),
    invalidateMetadata: () => {},
    requestAny: async (apiKey: number, body: unknown, options: { apiVersion?: number } = {}) =>
      answer(apiKey, body, options.apiVersion),
  };
  return { admin: new Admin(fake as unknown as Cluster), sent };
}

const atLevel = (featureLevel: number, brokerLevels: number[]) => ({
  brokerId: 1,
  featureLevel,
  supportedFeatureLevel: FEATURE.clientQuotas,
  brokers: brokerLevels.map((level, i) => ({ id: i + 1, featureLevel: level })),
});
const CLIENT = { type: 'client' as const, name: 'app' };
const SET = { set: { producer_byte_rate: '1000' } };

describe('Admin: client quota resources need cluster feature level 6', () => {
  it('below it, describe and alter throw FEATURE_NOT_FINALIZED naming the brokers behind, and send nothing else', async () => {
    const { admin, sent } = fakeCluster(atLevel(FEATURE.clientQuotas - 1, [6, 5, 6]), 'undecodable');
    const refused = {
      code: 'FEATURE_NOT_FINALIZED',
      message: expect.stringMatching(/level 6.*broker\(s\) 2 /),
    };
    await expect(admin.describeConfig(CLIENT)).rejects.toMatchObject({
      ...refused,
      operation: 'admin.describeConfigs',
    });
    await expect(admin.alterConfig({ type: 'client', name: '' }, SET)).rejects.toMatchObject({
      ...refused,
      operation: 'admin.alterConfigs',
    });
    expect(sent.every((s) => s.apiKey === ApiKey.DescribeCluster)).toBe(true);
  });

  it('a broker from before feature levels (DescribeCluster v0) is FEATURE_NOT_FINALIZED too', async () => {
    const { admin, sent } = fakeCluster('v0 only', 'undecodable');
    await expect(admin.alterConfig(CLIENT, SET)).rejects.toMatchObject({
      code: 'FEATURE_NOT_FINALIZED',
      message: expect.stringMatching(/broker 2 runs a build from before feature levels/),
    });
    expect(sent.map((s) => s.apiKey)).toEqual([ApiKey.DescribeCluster, ApiKey.DescribeCluster]);
  });

  it('at the level the call is sent; the level is asked once per admin (it is never lowered)', async () => {
    const { admin, sent } = fakeCluster(atLevel(FEATURE.clientQuotas, [6, 6]), 'ok');
    await admin.alterConfig(CLIENT, SET);
    await admin.describeConfig(CLIENT);
    expect(sent.map((s) => s.apiKey)).toEqual([
      ApiKey.DescribeCluster,
      ApiKey.AlterConfigs,
      ApiKey.DescribeConfigs,
    ]);
  });

  it('an unlimited (-1) or request_percentage override needs level 7: at 6 it throws before anything is sent', async () => {
    const { admin, sent } = fakeCluster(atLevel(FEATURE.clientQuotas, [6, 6]), 'ok');
    const sets: Record<string, string>[] = [{ producer_byte_rate: '-1' }, { request_percentage: '25' }];
    for (const set of sets) {
      await expect(admin.alterConfig(CLIENT, { set })).rejects.toMatchObject({
        code: 'FEATURE_NOT_FINALIZED',
        message: expect.stringMatching(/level 7/),
      });
    }
    expect(sent.some((s) => s.apiKey === ApiKey.AlterConfigs)).toBe(false);
    await admin.alterConfig(CLIENT, SET);
    expect(sent.at(-1)?.apiKey).toBe(ApiKey.AlterConfigs);
  });

  it('topic and cluster resources do not ask the level', async () => {
    const { admin, sent } = fakeCluster('v0 only', 'ok');
    await admin.describeConfig({ type: 'topic', name: 't' });
    await admin.alterConfig({ type: 'cluster', name: '' }, { set: { retention_ms: '1000' } });
    expect(sent.map((s) => s.apiKey)).toEqual([ApiKey.DescribeConfigs, ApiKey.AlterConfigs]);
  });
});
