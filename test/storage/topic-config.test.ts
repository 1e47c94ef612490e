/** Topic config overrides: log keys reach the LogConfig, the replication key is validated but kept apart. */
import { describe, expect, it } from 'vitest';
import { isStreamBusError } from '../../src/errors/index.js';
import { DEFAULT_LOG_CONFIG } from '../../src/storage/config.js';
import {
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
});
