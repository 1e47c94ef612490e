import { Writable } from 'node:stream';
import { createLogger } from '../../src/observability/index.js';

/** A stream to give a logger as its destination, and the JSON lines written to it so far. */
export function captureLines(): { stream: Writable; lines: () => Record<string, unknown>[] } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      chunks.push(String(chunk));
      done();
    },
  });
  const lines = () =>
    chunks
      .join('')
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  return { stream, lines };
}

/** A real pino logger whose JSON lines the test can read back. */
export function captureLogger() {
  const { stream, lines } = captureLines();
  return { logger: createLogger({ level: 'info', destination: stream }), lines };
}
