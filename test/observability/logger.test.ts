import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { StreamBusError } from '../../src/errors/index.js';
import { componentLogger, createLogger, LogSampler, silentLogger } from '../../src/observability/index.js';
import { ManualClock } from '../../src/resilience/manual-clock.js';
import { captureLines } from '../helpers/capture-logger.js';
import { scratchDir } from '../helpers/scratch-dir.js';

describe('logger', () => {
  it('writes JSON lines with the spec fields: component, node_id, broker_id, operation, duration_ms, error', () => {
    const out = captureLines();
    const root = createLogger({ level: 'info', base: { node_id: 1, broker_id: 1 }, destination: out.stream });
    const log = componentLogger(root, 'metadata');
    log.warn(
      { operation: 'metadata.propose', duration_ms: 12, error: new StreamBusError('NOT_LEADER') },
      'proposal failed',
    );
    const [line] = out.lines();
    expect(line).toMatchObject({
      level: 'warn',
      msg: 'proposal failed',
      component: 'metadata',
      node_id: 1,
      broker_id: 1,
      operation: 'metadata.propose',
      duration_ms: 12,
      error: {
        type: 'StreamBusError',
        code: 'NOT_LEADER',
        category: 'retriable',
        message: 'this node is not the leader',
      },
    });
    expect(typeof line?.time).toBe('string');
  });

  it('respects the level', () => {
    const out = captureLines();
    const log = createLogger({ level: 'warn', destination: out.stream });
    log.info('dropped');
    log.error('kept');
    expect(out.lines().map((l) => l.msg)).toEqual(['kept']);
  });

  it('redacts secrets', () => {
    const out = captureLines();
    const log = createLogger({ destination: out.stream });
    log.info({ password: 'hunter2', peer: { token: 'abc' }, auth: { sasl: { secret: 's' } } }, 'connecting');
    const [line] = out.lines();
    expect(JSON.stringify(line)).not.toMatch(/hunter2|abc|"s"/);
    expect(line?.password).toBe('[redacted]');
  });

  it('writes to a file path and in console format', async () => {
    const dir = scratchDir('streambus-log-');
    const file = join(dir, 'logs', 'broker.log');
    createLogger({ output: file }).info({ component: 'broker' }, 'started');
    expect(JSON.parse(readFileSync(file, 'utf8').trim())).toMatchObject({
      msg: 'started',
      component: 'broker',
    });
    const pretty = join(dir, 'pretty.log');
    createLogger({ output: pretty, format: 'console', colorize: false }).info(
      { component: 'broker' },
      'started',
    );
    expect(readFileSync(pretty, 'utf8')).toMatch(/INFO.*started/);
  });

  it('silentLogger writes nothing', () => {
    expect(silentLogger().isLevelEnabled('fatal')).toBe(false);
  });
});

describe('LogSampler', () => {
  it('logs a repetitive event once per window per key and counts what it suppressed', () => {
    const clock = new ManualClock();
    const sampler = new LogSampler(clock, 1000);
    const logged: number[] = [];
    for (let i = 0; i < 5; i++) sampler.sample('bad-frame', (s) => logged.push(s));
    sampler.sample('other', (s) => logged.push(100 + s));
    clock.advance(1000);
    sampler.sample('bad-frame', (s) => logged.push(s));
    expect(logged).toEqual([0, 100, 4]);
  });
});
