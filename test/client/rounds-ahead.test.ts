import { describe, expect, it } from 'vitest';
import { RoundsAhead } from '../../src/client/rounds-ahead.js';

/** Rounds whose completion the test controls: each resolves with whether it "brought data". */
function controlledRounds() {
  const started: { resolve: (brought: boolean) => void }[] = [];
  const start = () =>
    new Promise<boolean>((resolve) => {
      started.push({ resolve });
    });
  return { started, start };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('RoundsAhead', () => {
  it('starts the next round when the last completes with data, up to its depth', async () => {
    const { started, start } = controlledRounds();
    const ahead = new RoundsAhead(2, start, (brought) => brought);
    ahead.fill();
    ahead.fill(); // the first is still running: rounds run one after another
    expect(started).toHaveLength(1);
    started[0]!.resolve(true);
    await tick();
    expect(started).toHaveLength(2);
    started[1]!.resolve(true);
    await tick();
    expect(started).toHaveLength(2); // two held: no third until one is taken
    expect(ahead.size).toBe(2);
    const first = ahead.takeOrStart();
    expect(await first.result).toBe(true);
    ahead.fill();
    expect(started).toHaveLength(3);
  });

  it('a round that brings nothing ends the chain', async () => {
    const { started, start } = controlledRounds();
    const ahead = new RoundsAhead(3, start, (brought) => brought);
    ahead.fill();
    started[0]!.resolve(false);
    await tick();
    expect(started).toHaveLength(1);
  });

  it('a cleared round finishes unseen and starts nothing', async () => {
    const { started, start } = controlledRounds();
    const ahead = new RoundsAhead(2, start, (brought) => brought);
    ahead.fill();
    ahead.clear();
    started[0]!.resolve(true);
    await tick();
    expect(started).toHaveLength(1);
    expect(ahead.size).toBe(0);
  });

  it('takeOrStart gives the oldest round held, else one of its own; a round put back comes out next', async () => {
    const { started, start } = controlledRounds();
    const ahead = new RoundsAhead(2, start, (brought) => brought);
    const own = ahead.takeOrStart();
    expect(started).toHaveLength(1);
    expect(ahead.size).toBe(0);
    ahead.putBack(own);
    expect(ahead.takeOrStart()).toBe(own);
    ahead.fill();
    const held = ahead.takeOrStart();
    expect(held).not.toBe(own);
    expect(started).toHaveLength(2);
  });
});
