/** Topic config overrides: log keys reach the LogConfig, the replication key is validated but kept apart. */
import { describe, expect, it } from 'vitest';
import { isStreamBusError } from '../../src/errors/index.js';
import { DEFAULT_LOG_CONFIG } from '../../src/storage/config.js';
import {
  builtInTopicConfigs,
  minInsyncReplicas,
  normalizeTopicConfigs,
  resolveLogConfig,
} from '../../src/storage/topic-config.js';

describe('topic configs', () => {
  it('accepts min_insync_replicas >= 1, defaults it to 1, and leaves the log config alone', () => {
    const configs = normalizeTopicConfigs({ min_insync_replicas: 2, retention_ms: '1000' });
    expect(minInsyncReplicas(configs)).toBe(2);
    expect(minInsyncReplicas({})).toBe(1);
    const resolved = resolveLogConfig(DEFAULT_LOG_CONFIG, configs);
    expect(resolved).toEqual({ ...DEFAULT_LOG_CONFIG, retentionMs: 1000 });
  });

  it('refuses a min_insync_replicas of 0 or a non-integer, naming the key', () => {
    for (const bad of ['0', '1.5', 'two']) {
      try {
        normalizeTopicConfigs({ min_insync_replicas: bad });
        expect.unreachable(`min_insync_replicas=${bad} accepted`);
      } catch (err) {
        expect(isStreamBusError(err, 'INVALID_TOPIC_CONFIG')).toBe(true);
        expect((err as Error).message).toContain('min_insync_replicas');
      }
    }
  });

  it('takes the compaction keys into the log config: cleanup_policy (either spelling of both), ratio, lags', () => {
    const configs = normalizeTopicConfigs({
      cleanup_policy: 'delete,compact',
      delete_retention_ms: 60_000,
      min_cleanable_dirty_ratio: '0.25',
      min_compaction_lag_ms: '1000',
    });
    expect(configs.cleanup_policy).toBe('compact,delete');
    expect(resolveLogConfig(DEFAULT_LOG_CONFIG, configs)).toEqual({
      ...DEFAULT_LOG_CONFIG,
      cleanupPolicy: 'compact,delete',
      deleteRetentionMs: 60_000,
      minCleanableDirtyRatio: 0.25,
      minCompactionLagMs: 1000,
    });
    expect(resolveLogConfig(DEFAULT_LOG_CONFIG, { cleanup_policy: 'compact' }).cleanupPolicy).toBe('compact');
    const builtIn = builtInTopicConfigs(DEFAULT_LOG_CONFIG);
    expect(builtIn).toMatchObject({
      cleanup_policy: 'delete',
      delete_retention_ms: '86400000',
      min_cleanable_dirty_ratio: '0.5',
      min_compaction_lag_ms: '0',
    });
  });

  it('refuses bad compaction values, naming the key and the expected form', () => {
    const bad: Record<string, string>[] = [
      { cleanup_policy: 'compacted' },
      { cleanup_policy: '' },
      { min_cleanable_dirty_ratio: '1.5' },
      { min_cleanable_dirty_ratio: '-0.1' },
      { min_cleanable_dirty_ratio: 'half' },
      { delete_retention_ms: '-1' },
      { min_compaction_lag_ms: '0.5' },
    ];
    for (const configs of bad) {
      const key = Object.keys(configs)[0]!;
      try {
        normalizeTopicConfigs(configs);
        expect.unreachable(`${JSON.stringify(configs)} accepted`);
      } catch (err) {
        expect(isStreamBusError(err, 'INVALID_TOPIC_CONFIG')).toBe(true);
        expect((err as Error).message).toContain(key);
      }
    }
    expect(() => normalizeTopicConfigs({ cleanup_policy: 'compacted' })).toThrow(
      /delete \| compact \| compact,delete/,
    );
  });
});
