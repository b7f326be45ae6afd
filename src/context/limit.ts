/**
 * A counting semaphore: at most `size` calls of `run` are in flight at once. Waiting calls marked
 * `low` start only when no other call waits, so the requests that unblock others (TokenRequests,
 * logins, roles, policies) are not queued behind hundreds of secret reads.
 */
export class Limiter {
  private active = 0;
  private readonly waiting: (() => void)[] = [];
  private readonly waitingLow: (() => void)[] = [];

  constructor(private readonly size: number) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`concurrency must be a positive integer, got ${size}`);
  }

  async run<T>(task: () => Promise<T>, priority: 'normal' | 'low' = 'normal'): Promise<T> {
    if (this.active >= this.size) {
      await new Promise<void>((resolve) => (priority === 'low' ? this.waitingLow : this.waiting).push(resolve));
    }
    this.active += 1;
    try {
      return await task();
    } finally {
      this.active -= 1;
      (this.waiting.shift() ?? this.waitingLow.shift())?.();
    }
  }
}

/** A promise cache: the first call for a key starts the work, later calls share its promise. */
export class Memo {
  private readonly entries = new Map<string, Promise<unknown>>();

  get<T>(key: string, load: () => Promise<T>): Promise<T> {
    let entry = this.entries.get(key) as Promise<T> | undefined;
    if (!entry) {
      entry = load();
      this.entries.set(key, entry);
    }
    return entry;
  }
}

export type Fact<T> = { ok: true; value: T } | { ok: false; error: Error };

/** Run a loader and keep its failure as a value, so several checks can report it. */
export async function settle<T>(load: () => Promise<T>): Promise<Fact<T>> {
  try {
    return { ok: true, value: await load() };
  } catch (error) {
    return { ok: false, error: error instanceof Error ? error : new Error(String(error)) };
  }
}
