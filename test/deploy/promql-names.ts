/**
 * Metric selectors a PromQL expression references, found without a full PromQL parser: string literals,
 * range/offset brackets and grouping clauses (`by (...)`) are removed, then every identifier not followed
 * by `(` and not a keyword is a metric name, with its `{...}` label matchers. Enough for the expressions
 * we ship; the deploy tests check each name against src/observability/metric-names.ts.
 */
import { METRICS, type MetricSpec } from '../../src/observability/metric-names.js';

export interface MetricSelector {
  readonly name: string;
  readonly labels: readonly string[];
}

const KEYWORDS = new Set(['and', 'or', 'unless', 'bool', 'offset', 'inf', 'nan', 'by', 'without', 'on']);
const GROUPING = /\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g;

export function metricSelectors(expr: string): MetricSelector[] {
  const text = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""')
    .replace(/\[[^\]]*\]/g, '')
    .replace(GROUPING, ' ');
  const out: MetricSelector[] = [];
  const token = /([A-Za-z_:][A-Za-z0-9_:]*)\s*(\{[^}]*\})?\s*(\()?/g;
  for (let m = token.exec(text); m !== null; m = token.exec(text)) {
    const [, name = '', matchers, call] = m;
    if (call !== undefined && matchers === undefined) continue; // a function or aggregation
    const before = text.slice(0, m.index);
    if (/[0-9.]$/.test(before) || /\$$/.test(before)) continue; // 1e3, 5m, $variable
    if (KEYWORDS.has(name.toLowerCase())) continue;
    const labels = [...(matchers ?? '').matchAll(/([A-Za-z_][A-Za-z0-9_]*)\s*(?:=~|!~|!=|=)/g)].map(
      (l) => l[1] ?? '',
    );
    out.push({ name, labels });
  }
  return out;
}

/** Labels Prometheus adds to every series (target labels from our scrape configs). */
const TARGET_LABELS = new Set(['job', 'instance', 'namespace', 'pod', 'cluster']);

const SPECS: ReadonlyMap<string, MetricSpec> = new Map(Object.values(METRICS).map((s) => [s.name, s]));

/**
 * Why `selector` does not name a StreamBus metric, or undefined when it does: histogram series
 * (`_bucket`, `_sum`, `_count`) map to their histogram, `process_*`/`nodejs_*` are prom-client's
 * defaults, `up` is Prometheus's own; label matchers must be the metric's labels or target labels.
 */
export function unknownMetricProblem(selector: MetricSelector): string | undefined {
  const { name, labels } = selector;
  if (name === 'up' || name.startsWith('process_') || name.startsWith('nodejs_')) return undefined;
  const suffix = /_(bucket|sum|count)$/.exec(name);
  const base = suffix === null ? name : name.slice(0, suffix.index);
  const spec = SPECS.get(name) ?? (suffix === null ? undefined : SPECS.get(base));
  if (spec === undefined) return `${name} is not in metric-names.ts`;
  if (suffix !== null && spec.name === base && spec.type !== 'histogram')
    return `${name}: ${base} is not a histogram`;
  const allowed = new Set([...spec.labels, ...TARGET_LABELS, ...(suffix?.[1] === 'bucket' ? ['le'] : [])]);
  const bad = labels.filter((l) => !allowed.has(l));
  return bad.length === 0 ? undefined : `${name} has no label(s) ${bad.join(', ')}`;
}
