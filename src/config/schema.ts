/**
 * The config schema: one row per key, in the order `docs/config.md` lists them. The table is the single
 * source of truth for defaults, validation, env var names and the reference docs. Its rows live by area in
 * schema-node-keys.ts, schema-cluster-keys.ts and schema-ops-keys.ts; add a key there and in `BrokerConfig`
 * (types.ts); test/config checks that the two agree and that docs/config.md is current.
 */

import { CLUSTER_KEYS } from './schema-cluster-keys.js';
import { NODE_KEYS } from './schema-node-keys.js';
import { OPS_KEYS } from './schema-ops-keys.js';

export { HEADER_LIST } from './schema-ops-keys.js';

export type ConfigValue = number | boolean | string | null;

export type ValueKind =
  | { readonly type: 'int'; readonly min?: number; readonly max?: number }
  /** `unlimited` allows -1 to mean "no limit" (below `min`). */
  | { readonly type: 'number'; readonly min?: number; readonly max?: number; readonly unlimited?: boolean }
  | { readonly type: 'bool' }
  | { readonly type: 'string'; readonly pattern?: RegExp; readonly form?: string }
  | { readonly type: 'enum'; readonly values: readonly string[] }
  /** Milliseconds; `unlimited` allows -1 to mean "no limit". */
  | { readonly type: 'duration'; readonly min?: number; readonly max?: number; readonly unlimited?: boolean }
  /** Bytes; `unlimited` allows -1 to mean "no limit". */
  | { readonly type: 'size'; readonly min?: number; readonly max?: number; readonly unlimited?: boolean }
  | { readonly type: 'hostport' }
  | { readonly type: 'port' };

export interface KeySpec {
  /** Dotted snake_case path as written in YAML: `storage.flush_policy`. */
  readonly key: string;
  readonly kind: ValueKind;
  readonly default: ConfigValue;
  /** `null` is a legal value (meaning "unset"; the doc says what unset does). */
  readonly nullable?: boolean;
  /** Masked by `config print`; should come from env or a file, never be required in the config file. */
  readonly secret?: boolean;
  /** Extra env var names accepted besides the derived `STREAMBUS_<KEY>`. */
  readonly envAliases?: readonly string[];
  readonly doc: string;
}

/** The config format version this broker writes and reads. */
export const CONFIG_VERSION_CURRENT = 1;

export const CONFIG_SCHEMA: readonly KeySpec[] = [
  {
    key: 'config_version',
    kind: { type: 'int', min: 1 },
    default: CONFIG_VERSION_CURRENT,
    doc: 'Config format version. This broker reads version 1; a newer or unknown version fails at start.',
  },
  ...NODE_KEYS,
  ...CLUSTER_KEYS,
  ...OPS_KEYS,
];

export const SCHEMA_BY_KEY: ReadonlyMap<string, KeySpec> = new Map(
  CONFIG_SCHEMA.map((spec) => [spec.key, spec]),
);

/** Dotted prefixes that are sections (`storage`, `resilience.timeouts`), never values. */
export const SECTIONS: ReadonlySet<string> = new Set(
  CONFIG_SCHEMA.flatMap((spec) => {
    const parts = spec.key.split('.');
    return parts.slice(1).map((_, i) => parts.slice(0, i + 1).join('.'));
  }),
);

/** `storage.flush_policy` -> `STREAMBUS_STORAGE_FLUSH_POLICY`. */
export function envNameOf(key: string): string {
  return `STREAMBUS_${key.replaceAll('.', '_').toUpperCase()}`;
}
