/**
 * deploy/systemd: the unit passes `systemd-analyze verify` without a warning, stops the broker with
 * SIGTERM and waits longer than the drain, runs it unprivileged with only its data dir writable, and its
 * ExecStart (with the install paths mapped to this checkout) starts a broker from the shipped config that
 * answers /health/live and drains on SIGTERM.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { BROKER_NODE_FLAGS } from '../../src/broker/node-flags.js';
import { CONFIG_SCHEMA, loadConfig } from '../../src/config/index.js';
import { requireDist } from '../helpers/acked-producer.js';
import { removeDir, tempDir } from '../helpers/broker-process.js';
import { runBrokerCommand } from './broker-command.js';
import { DEPLOY, REPO } from './manifests.js';
import { hasTool, warnMissing } from './tools.js';

const UNIT_FILE = join(DEPLOY, 'systemd', 'streambus.service');
const CONFIG_FILE = join(DEPLOY, 'systemd', 'streambus.yaml');
const unitText = readFileSync(UNIT_FILE, 'utf8');
const hasSystemdAnalyze = hasTool('systemd-analyze');
if (!hasSystemdAnalyze) warnMissing('systemd-analyze', 'systemd', '`systemd-analyze verify` of the unit');

/** [Section] -> key -> every value (keys such as SystemCallFilter may repeat). */
function parseUnit(text: string): Map<string, Map<string, string[]>> {
  const sections = new Map<string, Map<string, string[]>>();
  let current: Map<string, string[]> | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[(\w+)\]$/.exec(line);
    if (header !== null) {
      current = new Map();
      sections.set(header[1] ?? '', current);
      continue;
    }
    const eq = line.indexOf('=');
    if (current === undefined || eq < 0) throw new Error(`unparsable unit line: ${line}`);
    const key = line.slice(0, eq);
    current.set(key, [...(current.get(key) ?? []), line.slice(eq + 1)]);
  }
  return sections;
}

const unit = parseUnit(unitText);
const service = unit.get('Service') ?? new Map<string, string[]>();
const one = (key: string): string => {
  const values = service.get(key) ?? [];
  expect(values, key).toHaveLength(1);
  return values[0] ?? '';
};
const shippedConfig = loadConfig({ file: CONFIG_FILE, env: {} });

describe('systemd unit', () => {
  test('stops with SIGTERM and waits longer than the drain before SIGKILL', () => {
    expect(one('KillSignal')).toBe('SIGTERM');
    const stopSeconds = Number(one('TimeoutStopSec'));
    expect(stopSeconds * 1000).toBeGreaterThan(shippedConfig.shutdown.timeoutMs);
    expect(one('Type')).toBe('simple');
  });

  test('runs as a dedicated unprivileged user that may write only the data dir of the shipped config', () => {
    expect(one('User')).not.toMatch(/^(root|0)?$/);
    expect(one('NoNewPrivileges')).toBe('yes');
    expect(one('ProtectSystem')).toBe('strict');
    expect(one('CapabilityBoundingSet')).toBe('');
    expect(one('ReadWritePaths').split(/\s+/)).toContain(shippedConfig.broker.dataDir);
    expect(`/var/lib/${one('StateDirectory')}`).toBe(shippedConfig.broker.dataDir);
    expect(Number(one('LimitNOFILE'))).toBeGreaterThanOrEqual(65_536);
  });

  test('ExecStart runs the broker with the shipped config file', () => {
    expect(one('ExecStart')).toBe(
      [
        '/usr/bin/node',
        ...BROKER_NODE_FLAGS,
        '/opt/streambus/dist/cmd/streambus.js broker --config /etc/streambus/streambus.yaml',
      ].join(' '),
    );
  });

  test.skipIf(!hasSystemdAnalyze)('passes `systemd-analyze verify` with no warnings', () => {
    const dir = tempDir('streambus-systemd-');
    try {
      // verify checks that ExecStart's binary exists; point it at this machine's node.
      const file = join(dir, 'streambus.service');
      writeFileSync(file, unitText.replaceAll('/usr/bin/node ', `${process.execPath} `));
      const r = spawnSync('systemd-analyze', ['verify', file], { encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      // Unknown keys and misplaced settings are only warnings (exit 0): treat any output as a failure.
      expect(`${r.stdout}${r.stderr}`.trim()).toBe('');
    } finally {
      removeDir(dir);
    }
  });
});

describe('the shipped config file', () => {
  test('its comments name only config keys and files that exist, not work still to come (QA: "arrive with issue 4")', () => {
    const comments = readFileSync(CONFIG_FILE, 'utf8')
      .split('\n')
      .filter((l) => l.trim().startsWith('#'))
      .join('\n');
    expect(comments).not.toMatch(/\bissue \d/);
    const keys = new Set(CONFIG_SCHEMA.map((k) => k.key));
    const named = [
      ...comments.matchAll(/(?<![\w/])((?:cluster|broker|storage|groups)\.[a-z_]+(?:\.[a-z_]+)?)(?![\w.])/g),
    ];
    for (const [, key] of named) expect(keys, key).toContain(key);
    const files = [...comments.matchAll(/\b((?:docs|deploy)\/[\w./-]+\.(?:md|yaml))\b/g)].map((m) => m[1]!);
    expect(files).toContain('docs/cluster.md');
    for (const f of files) expect(existsSync(join(REPO, f)), f).toBe(true);
  });
});

describe("the unit's ExecStart, run here", () => {
  let dataDir = '';
  beforeAll(() => {
    requireDist();
    dataDir = tempDir('streambus-systemd-run-');
  });
  afterAll(() => removeDir(dataDir));

  test('starts a broker that answers /health/live and exits 0 on SIGTERM within TimeoutStopSec', async () => {
    const argv = one('ExecStart')
      .split(' ')
      .map((arg) =>
        arg === '/usr/bin/node'
          ? process.execPath
          : arg === '/etc/streambus/streambus.yaml'
            ? CONFIG_FILE
            : arg.replace('/opt/streambus', REPO),
      );
    // The host-specific part, as streambus.env would give it; loopback and free ports for the test.
    const broker = await runBrokerCommand(argv, {
      cwd: REPO,
      env: {
        PATH: process.env.PATH,
        NODE_ENV: 'production',
        STREAMBUS_BROKER_ID: '7',
        STREAMBUS_BROKER_DATA_DIR: dataDir,
        STREAMBUS_BROKER_LISTEN: '127.0.0.1:0',
        STREAMBUS_HEALTH_HTTP_BIND_ADDRESS: '127.0.0.1',
        STREAMBUS_HEALTH_HTTP_PORT: '0',
      },
    });
    try {
      expect(broker.brokerId).toBe(7);
      const live = await fetch(`http://127.0.0.1:${broker.httpPort}/health/live`);
      expect(live.status).toBe(200);
    } finally {
      const { code, elapsedMs } = await broker.stop('SIGTERM');
      expect(code, broker.logs.join('\n')).toBe(0);
      expect(elapsedMs).toBeLessThan(Number(one('TimeoutStopSec')) * 1000);
    }
  });
});
