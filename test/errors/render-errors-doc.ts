import { ERRORS, type ErrorCategory, type ErrorCode } from '../../src/errors/index.js';

const CATEGORY_MEANING: Record<ErrorCategory, string> = {
  retriable: 'try again now, perhaps after refreshing metadata',
  transient: 'wait (back off), then try again',
  fatal: 'retrying cannot help; an operator must look',
  invalid_input: 'the request is wrong; the same request fails the same way',
};

/** docs/errors.md, generated from src/errors/catalogue.ts. */
export function renderErrorsDoc(): string {
  const rows = (Object.entries(ERRORS) as [ErrorCode, (typeof ERRORS)[ErrorCode]][])
    .sort((a, b) => a[1].wireCode - b[1].wireCode)
    .map(([code, spec]) => `| \`${code}\` | ${spec.wireCode} | ${spec.category} | ${spec.message} |`);
  return [
    '# Error codes',
    '',
    '<!-- Generated from src/errors/catalogue.ts. Do not edit by hand: run',
    '     `UPDATE_DOCS=1 npx vitest run test/errors/catalogue.test.ts` to regenerate. -->',
    '',
    'Every failure a client, a peer or an operator can see has a stable code (in logs and here), a wire code',
    '(the number in responses) and a category. Clients and the SDK decide whether to retry from the category',
    'alone, never from the message text. A retired wire code is never reused.',
    '',
    '| Category | Meaning |',
    '| --- | --- |',
    ...(Object.entries(CATEGORY_MEANING) as [ErrorCategory, string][]).map(([c, m]) => `| ${c} | ${m} |`),
    '',
    'Wire code ranges: 1-99 request and protocol, 100-199 topics and partitions, 200-299 produce and fetch,',
    '300-399 replication and consensus, 400-499 storage, 500-599 consumer groups, 600-699 cluster and metadata.',
    '',
    '| Code | Wire code | Category | Message |',
    '| --- | --- | --- | --- |',
    ...rows,
    '',
  ].join('\n');
}
