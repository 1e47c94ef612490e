import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const biome = fileURLToPath(new URL('../../node_modules/.bin/biome', import.meta.url));

/**
 * Biome formats Markdown (it pads table columns), so generated docs are compared with table cells trimmed
 * and separator rows collapsed; the text itself must match exactly.
 */
export function normalizeMarkdown(text: string): string {
  return text
    .split('\n')
    .map((line) => {
      if (!line.startsWith('|')) return line.trimEnd();
      const cells = line
        .slice(1, line.endsWith('|') ? -1 : undefined)
        .split(/(?<!\\)\|/)
        .map((c) => c.trim())
        .map((c) => (/^:?-+:?$/.test(c) ? '---' : c));
      return `| ${cells.join(' | ')} |`;
    })
    .join('\n')
    .trimEnd();
}

/** Reads the doc at `path` (empty if missing); with UPDATE_DOCS=1 first rewrites it and formats it with biome. */
export function readGeneratedDoc(path: string, expected: string): string {
  if (process.env.UPDATE_DOCS === '1') {
    writeFileSync(path, expected);
    execFileSync(biome, ['format', '--write', path], { stdio: 'ignore' });
  }
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}
