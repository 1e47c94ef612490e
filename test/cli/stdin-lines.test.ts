/**
 * `produce` reads stdin as lines: split at \n only, a \r\n ending loses its \r, a last line without a
 * newline still counts, wherever the chunks happen to break; a line over the limit is refused while it is
 * still being read.
 */
import { describe, expect, it } from 'vitest';
import { linesOf } from '../../cmd/commands/stdin-lines.js';

async function* from(chunks: readonly string[], read?: { count: number }): AsyncGenerator<string> {
  for (const c of chunks) {
    if (read) read.count++;
    yield c;
  }
}

async function collect(chunks: readonly string[], lineCharsMax?: number): Promise<string[]> {
  const out: string[] = [];
  for await (const line of linesOf(from(chunks), lineCharsMax)) out.push(line);
  return out;
}

/** `text` cut into pieces at every position in `cuts`. */
function cut(text: string, cuts: number[]): string[] {
  const at = [0, ...cuts.filter((c) => c > 0 && c < text.length).sort((a, b) => a - b), text.length];
  return at.slice(1).map((end, i) => text.slice(at[i], end));
}

describe('linesOf', () => {
  const text = 'one\r\ntwo\n\nthree\rstill three\r\nlast';
  const expected = ['one', 'two', '', 'three\rstill three', 'last'];

  it('gives the same lines however the input is cut into chunks (every single and double cut)', async () => {
    expect(await collect([text])).toEqual(expected);
    for (let i = 0; i <= text.length; i++) {
      expect(await collect(cut(text, [i]))).toEqual(expected);
      for (let j = i + 1; j <= text.length; j++) expect(await collect(cut(text, [i, j]))).toEqual(expected);
    }
    expect(await collect(text.split(''))).toEqual(expected);
  });

  it('joins a line read in many chunks whole', async () => {
    const chunks = Array.from({ length: 10_000 }, (_, i) => String(i % 10));
    const lines = await collect([...chunks, '\n', 'b']);
    expect(lines).toEqual([chunks.join(''), 'b']);
  });

  it('refuses a line as soon as it passes the limit, without reading the rest of it', async () => {
    const read = { count: 0 };
    const chunks = ['ok\n', ...Array.from({ length: 1_000 }, () => 'x'.repeat(100))];
    const lines: string[] = [];
    const reading = (async () => {
      for await (const line of linesOf(from(chunks, read), 1_000)) lines.push(line);
    })();
    await expect(reading).rejects.toMatchObject({ code: 'BATCH_TOO_LARGE' });
    expect(lines).toEqual(['ok']);
    expect(read.count).toBe(12); // 'ok\n', then 11 chunks of 100: the 11th passes 1,000
  });

  it('a line exactly at the limit passes, also when its newline ends a chunk', async () => {
    expect(await collect(['abc\nde', 'f\n'], 3)).toEqual(['abc', 'def']);
    await expect(collect(['abcd\n'], 3)).rejects.toMatchObject({ code: 'BATCH_TOO_LARGE' });
  });
});
