import { describe, expect, it } from 'vitest';

import { Limiter } from '../../src/context/limit.js';

/** Make a task that records when it starts and finishes when `release` is called. */
function gate(log: string[], name: string): { task: () => Promise<void>; release: () => void } {
  let release = () => {};
  const done = new Promise<void>((resolve) => (release = resolve));
  return {
    task: async () => {
      log.push(name);
      await done;
    },
    release: () => release(),
  };
}

describe('Limiter', () => {
  it('caps calls in flight', async () => {
    const limiter = new Limiter(3);
    let active = 0;
    let peak = 0;
    await Promise.all(
      Array.from({ length: 20 }, () =>
        limiter.run(async () => {
          active += 1;
          peak = Math.max(peak, active);
          await new Promise((resolve) => setTimeout(resolve, 1));
          active -= 1;
        }),
      ),
    );
    expect(peak).toBe(3);
  });

  it('starts normal before low priority', async () => {
    const limiter = new Limiter(1);
    const log: string[] = [];
    const first = gate(log, 'first');
    const runs = [limiter.run(first.task)];
    for (const [name, priority] of [['read-1', 'low'], ['login-1', 'normal'], ['read-2', 'low'], ['login-2', 'normal']] as const) {
      runs.push(limiter.run(async () => void log.push(name), priority));
    }
    first.release();
    await Promise.all(runs);
    expect(log).toEqual(['first', 'login-1', 'login-2', 'read-1', 'read-2']);
  });

  it('rejects an invalid size', () => {
    expect(() => new Limiter(0)).toThrow(RangeError);
    expect(() => new Limiter(1.5)).toThrow(RangeError);
  });
});
