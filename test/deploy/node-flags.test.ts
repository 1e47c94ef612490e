/**
 * `npm start` passes the broker's V8 flags (src/broker/node-flags.ts) before the script, where node reads
 * them (after it they would be the broker's arguments). The Dockerfile, systemd and Kubernetes tests check
 * their own start commands against the same constant; dev-cluster, the chaos harness and the test helpers
 * import it.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BROKER_NODE_FLAGS } from '../../src/broker/node-flags.js';
import { REPO } from './manifests.js';

describe('broker node flags', () => {
  it('npm start runs node with exactly them, then the CLI', () => {
    expect(BROKER_NODE_FLAGS.length).toBeGreaterThan(0);
    const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as {
      scripts: { start: string };
    };
    expect(pkg.scripts.start).toBe(
      ['node', ...BROKER_NODE_FLAGS, 'dist/cmd/streambus.js', 'broker'].join(' '),
    );
  });
});
