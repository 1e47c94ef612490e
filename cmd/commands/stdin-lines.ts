/**
 * Lines of text split at \n only (a \r\n ending loses its \r): readline also splits at a lone \r, which
 * cut a message that carried one in two. A last line without a newline is still a message.
 *
 * Linear in the input: each chunk is searched for newlines once and a line's pieces are joined once, when
 * it ends (re-splitting the growing remainder with every chunk took 44 s over one 70 MB line). A line
 * longer than `lineCharsMax` is refused as soon as it passes that, not after it was read whole.
 */
import { StreamBusError } from '../../src/index.js';

export async function* linesOf(
  chunks: AsyncIterable<string>,
  lineCharsMax = Number.POSITIVE_INFINITY,
): AsyncGenerator<string> {
  let pieces: string[] = [];
  let pendingChars = 0;
  let lineNumber = 0;
  const checkLength = (chars: number): void => {
    if (chars <= lineCharsMax) return;
    throw new StreamBusError('BATCH_TOO_LARGE', {
      operation: 'cli.produce',
      message: `line ${lineNumber + 1} is longer than ${lineCharsMax} characters, more than a request may carry`,
    });
  };
  for await (const chunk of chunks) {
    let from = 0;
    for (let at = chunk.indexOf('\n'); at >= 0; at = chunk.indexOf('\n', from)) {
      checkLength(pendingChars + at - from);
      pieces.push(chunk.slice(from, at));
      yield withoutCr(pieces.join(''));
      lineNumber++;
      pieces = [];
      pendingChars = 0;
      from = at + 1;
    }
    if (from < chunk.length) {
      pendingChars += chunk.length - from;
      checkLength(pendingChars);
      pieces.push(chunk.slice(from));
    }
  }
  if (pendingChars > 0) yield withoutCr(pieces.join(''));
}

function withoutCr(line: string): string {
  return line.endsWith('\r') ? line.slice(0, -1) : line;
}
