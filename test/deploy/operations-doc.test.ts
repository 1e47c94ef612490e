/**
 * docs/operations.md stays in step with the deploy files: every alert has a runbook section its
 * runbook_url points at (and no section describes an alert that no longer exists), the required runbooks
 * are there, and the stop timeouts the doc quotes are the ones the manifests and unit use.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { parse as parseYaml } from 'yaml';
import {
  DEPLOY,
  findKind,
  get,
  getArray,
  getNumber,
  type Json,
  loadKubernetesDocuments,
  REPO,
} from './manifests.js';

const doc = readFileSync(join(REPO, 'docs', 'operations.md'), 'utf8');
const headings = [...doc.matchAll(/^#{2,4} (.+)$/gm)].map((m) => (m[1] ?? '').trim());

/** GitHub's heading anchor: lower case, punctuation dropped, spaces to hyphens. */
function slug(heading: string): string {
  return heading
    .toLowerCase()
    .replace(/[^\p{L}\p{N} _-]/gu, '')
    .replace(/ /g, '-');
}

const alerts = getArray(
  parseYaml(readFileSync(join(DEPLOY, 'prometheus', 'alerts.yml'), 'utf8')) as Json,
  'groups',
)
  .flatMap((g) => getArray(g, 'rules'))
  .map((r) => ({ name: String(get(r, 'alert')), runbook: String(get(r, 'annotations', 'runbook_url')) }));

describe('docs/operations.md', () => {
  test('every alert has a runbook section, and its runbook_url points at it', () => {
    const anchors = new Set(headings.map(slug));
    for (const alert of alerts) {
      expect(headings, alert.name).toContain(alert.name);
      expect(alert.runbook, alert.name).toBe(`docs/operations.md#${slug(alert.name)}`);
      expect(anchors.has(slug(alert.name))).toBe(true);
    }
  });

  test('every alert section describes an alert that exists', () => {
    const names = new Set(alerts.map((a) => a.name));
    for (const h of headings.filter((x) => /^StreamBus[A-Z]\w+$/.test(x))) expect(names, h).toContain(h);
  });

  test('has the runbooks operators need', () => {
    for (const section of [
      'Single node (systemd)',
      'Three brokers on Kubernetes',
      'Scale out (add a broker)',
      'Drain and decommission a broker',
      'Rolling upgrade',
      'Rollback',
      'Replace a dead broker',
      'Recover from lost metadata quorum',
      'Disk full',
      'Alerts',
    ]) {
      expect(headings).toContain(section);
    }
  });

  test('quotes the stop timeouts the deploy files actually use', () => {
    const statefulSet = findKind(loadKubernetesDocuments(), 'StatefulSet', 'streambus');
    const grace = getNumber(statefulSet, 'spec', 'template', 'spec', 'terminationGracePeriodSeconds');
    expect(doc).toContain(`terminationGracePeriodSeconds: ${grace}`);
    const unit = readFileSync(join(DEPLOY, 'systemd', 'streambus.service'), 'utf8');
    const stopSec = /^TimeoutStopSec=(\d+)$/m.exec(unit)?.[1];
    expect(stopSec).toBeDefined();
    expect(doc).toContain(`TimeoutStopSec=${stopSec}`);
    const dockerfile = readFileSync(join(REPO, 'Dockerfile'), 'utf8');
    const dockerStop = /--stop-timeout (\d+)/.exec(dockerfile)?.[1];
    expect(doc).toContain(`--stop-timeout ${dockerStop}`);
  });
});
