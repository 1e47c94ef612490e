/** Enumerates every field path of a wire value, and sets a value at a path, for the error-path tests. */
export type PathStep = string | number;

export function leafAndNodePaths(value: unknown, prefix: PathStep[] = []): PathStep[][] {
  const out: PathStep[][] = [];
  if (Buffer.isBuffer(value) || value === null || typeof value !== 'object') return out;
  const entries: [PathStep, unknown][] = Array.isArray(value)
    ? value.map((v, i) => [i, v])
    : Object.entries(value as Record<string, unknown>);
  for (const [key, child] of entries) {
    const path = [...prefix, key];
    out.push(path);
    out.push(...leafAndNodePaths(child, path));
  }
  return out;
}

export function getAt(value: unknown, path: PathStep[]): unknown {
  let cur = value;
  for (const step of path) cur = (cur as Record<PathStep, unknown>)[step];
  return cur;
}

/** A deep copy of `value` (Buffers shared) with `replacement` at `path`, or the key deleted when undefined. */
export function withAt(value: unknown, path: PathStep[], replacement: unknown): unknown {
  if (path.length === 0) return replacement;
  const [head, ...rest] = path as [PathStep, ...PathStep[]];
  if (Array.isArray(value)) {
    const copy = [...value];
    copy[head as number] = withAt(copy[head as number], rest, replacement);
    return copy;
  }
  const copy = { ...(value as Record<string, unknown>) };
  if (rest.length === 0 && replacement === undefined) delete copy[head];
  else copy[head] = withAt(copy[head], rest, replacement);
  return copy;
}

export function renderPath(root: string, path: PathStep[]): string {
  return path.reduce<string>(
    (acc, step) => (typeof step === 'number' ? `${acc}[${step}]` : `${acc}.${step}`),
    root,
  );
}

/** A value of a different msgpack type than `original`. */
export function wrongTypeFor(original: unknown): unknown {
  if (typeof original === 'string') return 42;
  if (original === null) return 42;
  return 'not-the-right-type';
}
