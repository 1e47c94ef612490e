import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CONFIG_SCHEMA, renderConfigDocs } from '../../src/config/index.js';
import { normalizeMarkdown, readGeneratedDoc } from './generated-doc.js';

const docPath = fileURLToPath(new URL('../../docs/config.md', import.meta.url));

describe('docs/config.md', () => {
  it('is in step with the config schema (regenerate: UPDATE_DOCS=1 npx vitest run test/config/docs.test.ts)', () => {
    const expected = renderConfigDocs();
    expect(normalizeMarkdown(readGeneratedDoc(docPath, expected))).toBe(normalizeMarkdown(expected));
  });

  it('documents every key with its env var', () => {
    const doc = renderConfigDocs();
    for (const spec of CONFIG_SCHEMA) expect(doc).toContain(`\`${spec.key}\``);
  });
});
