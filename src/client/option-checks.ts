/**
 * Checks shared by the producer's and the consumer's options: a value that cannot work is refused when the
 * producer or consumer is made (INVALID_CONFIG naming the option and what it may be), not found out later
 * as a hang or a broker's INVALID_REQUEST.
 */
import { StreamBusError } from '../errors/index.js';

/**
 * Each of `least`'s options must be a whole number at least its value; those named in `unbounded` may also
 * be Infinity (a count of retries bounded by a timeout instead).
 */
export function checkWholeNumbers(
  owner: string,
  values: Readonly<Record<string, unknown>>,
  least: Readonly<Record<string, number>>,
  unbounded: readonly string[] = [],
): void {
  for (const [name, min] of Object.entries(least)) {
    const value = values[name];
    const whole = Number.isInteger(value) || (unbounded.includes(name) && value === Number.POSITIVE_INFINITY);
    if (typeof value !== 'number' || !whole || value < min) {
      throw invalidOption(
        owner,
        name,
        `an integer >= ${min}${unbounded.includes(name) ? ' or Infinity' : ''}`,
        value,
      );
    }
  }
}

/** The option must be one of `allowed`. */
export function checkOneOf(owner: string, name: string, value: unknown, allowed: readonly unknown[]): void {
  if (!allowed.includes(value)) {
    throw invalidOption(owner, name, `one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}`, value);
  }
}

export function invalidOption(owner: string, name: string, expected: string, value: unknown): StreamBusError {
  return new StreamBusError('INVALID_CONFIG', {
    operation: owner,
    message: `${owner} option ${name} must be ${expected}, got ${describe(value)}`,
    metadata: { option: name },
  });
}

function describe(value: unknown): string {
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  return JSON.stringify(value) ?? String(value);
}
