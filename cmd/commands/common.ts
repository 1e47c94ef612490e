/** An integer option, at least `min` when given (a zero batch or a negative count would hang or mislead). */
export function parseIntOption(name: string, min?: number) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isSafeInteger(n))
      throw new Error(`${name} must be an integer, got '${value}'`);
    if (min !== undefined && n < min) throw new Error(`${name} must be at least ${min}, got ${n}`);
    return n;
  };
}

/**
 * Kafka's `--replica-assignment` syntax: partitions separated by commas, each partition's broker ids by
 * colons, preferred leader first (`1:2:3,2:3:1`). Only the syntax is checked here; the broker checks the
 * brokers and the counts.
 */
export function parseReplicaAssignment(value: string): number[][] {
  return value.split(',').map((partition, p) =>
    partition.split(':').map((id) => {
      const n = Number(id);
      if (id.trim() === '' || !Number.isInteger(n) || n <= 0) {
        throw new Error(
          `--replica-assignment expects broker ids like 1:2:3,2:3:1; partition ${p} has '${partition}'`,
        );
      }
      return n;
    }),
  );
}

export function parseAcks(value: string): 0 | 1 | -1 {
  if (value === 'all' || value === '-1') return -1;
  if (value === '0') return 0;
  if (value === '1') return 1;
  throw new Error(`--acks must be 0, 1 or all, got '${value}'`);
}

/** Left-aligned columns separated by two spaces, for human-readable listings (`--json` is for scripts). */
export function renderTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return `${[line(headers), ...rows.map(line)].join('\n')}\n`;
}

/** `key=value` items (repeatable options such as --config, --set) as a map; the first `=` splits. */
export function parseKeyValues(values: readonly string[], option: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of values) {
    const i = item.indexOf('=');
    if (i <= 0) throw new Error(`${option} expects key=value, got '${item}'`);
    out[item.slice(0, i)] = item.slice(i + 1);
  }
  return out;
}
