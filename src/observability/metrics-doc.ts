import { METRICS } from './metric-names.js';

export const METRICS_TABLE_BEGIN =
  '<!-- metrics-table:begin (generated from src/observability/metric-names.ts) -->';
export const METRICS_TABLE_END = '<!-- metrics-table:end -->';

/**
 * The metrics table of docs/observability.md, generated from METRICS so the doc cannot drift: a test
 * compares the section between the markers with this output (UPDATE_DOCS=1 rewrites it).
 */
export function renderMetricsTable(): string {
  const rows = Object.values(METRICS).map((m) => {
    const labels = m.labels.length === 0 ? '' : m.labels.map((l) => `\`${l}\``).join(', ');
    return `| \`${m.name}\` | ${m.type} | ${labels} | ${m.spec ? 'spec' : 'data plane'} | ${m.help} |`;
  });
  return [
    METRICS_TABLE_BEGIN,
    '',
    '| Metric | Type | Labels | Source | Meaning |',
    '| --- | --- | --- | --- | --- |',
    ...rows,
    '',
    METRICS_TABLE_END,
  ].join('\n');
}
