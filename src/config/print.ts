import { stringify } from 'yaml';
import { formatValue } from './docs.js';
import { CONFIG_SCHEMA, type ConfigValue } from './schema.js';

/**
 * The effective config as YAML in the file's own shape, for `streambus config print`. Durations and sizes
 * are shown in their shortest exact unit form; secret keys are masked.
 */
export function renderEffectiveConfig(values: ReadonlyMap<string, ConfigValue>): string {
  const root: Record<string, unknown> = {};
  for (const spec of CONFIG_SCHEMA) {
    const value = values.get(spec.key) ?? null;
    const parts = spec.key.split('.');
    let node = root;
    for (const part of parts.slice(0, -1)) {
      node[part] ??= {};
      node = node[part] as Record<string, unknown>;
    }
    const leaf = parts.at(-1) ?? spec.key;
    if (spec.secret === true && value !== null) node[leaf] = '******';
    else if (
      (spec.kind.type === 'duration' || spec.kind.type === 'size') &&
      typeof value === 'number' &&
      value > 0
    ) {
      node[leaf] = formatValue(spec, value);
    } else node[leaf] = value;
  }
  return stringify(root);
}
