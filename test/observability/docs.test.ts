import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { METRICS } from '../../src/observability/index.js';
import {
  METRICS_TABLE_BEGIN,
  METRICS_TABLE_END,
  renderMetricsTable,
} from '../../src/observability/metrics-doc.js';
import { normalizeMarkdown } from '../config/generated-doc.js';

const docPath = fileURLToPath(new URL('../../docs/observability.md', import.meta.url));
const readmePath = fileURLToPath(new URL('../../README.md', import.meta.url));

/** `| \`name\` | yes/no | ...` rows of a Markdown health-check table: check name to critical. */
function checkRows(markdown: string): Map<string, boolean> {
  const rows = new Map<string, boolean>();
  for (const m of markdown.matchAll(/^\s*\| `([a-z_]+)`\s*\| (yes|no)\s*\|/gm))
    rows.set(m[1]!, m[2] === 'yes');
  return rows;
}

function tableSection(doc: string): string {
  const begin = doc.indexOf(METRICS_TABLE_BEGIN);
  const end = doc.indexOf(METRICS_TABLE_END);
  if (begin < 0 || end < begin) return '';
  return doc.slice(begin, end + METRICS_TABLE_END.length);
}

describe('docs/observability.md', () => {
  it('has a metrics table in step with metric-names.ts (regenerate: UPDATE_DOCS=1 npx vitest run test/observability/docs.test.ts)', () => {
    let doc = readFileSync(docPath, 'utf8');
    const expected = renderMetricsTable();
    if (process.env.UPDATE_DOCS === '1') {
      const current = tableSection(doc);
      doc = current === '' ? `${doc}\n${expected}\n` : doc.replace(current, expected);
      writeFileSync(docPath, doc);
    }
    expect(normalizeMarkdown(tableSection(doc))).toBe(normalizeMarkdown(expected));
  });

  it('names every metric and every health endpoint', () => {
    const doc = readFileSync(docPath, 'utf8');
    for (const m of Object.values(METRICS)) expect(doc).toContain(`\`${m.name}\``);
    for (const path of ['/health/live', '/health/ready', '/health/raft', '`/health`', '/metrics'])
      expect(doc).toContain(path);
  });

  it("the README's Operating table lists the same health checks, equally critical (QA: `metadata` was missing)", () => {
    const documented = checkRows(readFileSync(docPath, 'utf8'));
    const operating = readFileSync(readmePath, 'utf8').split('## Operating')[1] ?? '';
    expect(documented.size).toBeGreaterThanOrEqual(9);
    expect(Object.fromEntries(checkRows(operating))).toEqual(Object.fromEntries(documented));
  });
});
