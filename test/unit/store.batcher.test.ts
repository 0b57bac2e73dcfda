import { describe, expect, it } from 'vitest';
import { createBatcher, type BatcherOptions } from '../../src/store/batcher.ts';

/** A deferred promise the test settles by hand. */
function gate() {
  let open!: () => void;
  let fail!: (error: unknown) => void;
  const promise = new Promise<void>((resolve, reject) => {
    open = () => resolve();
    fail = reject;
  });
  return { promise, open, fail };
}

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * A batcher over numbers whose runs the test controls: every call is recorded and waits for the
 * test to release it (`release()` lets all current and later runs through).
 */
function harness(options: Partial<BatcherOptions<number, string>> = {}) {
  const calls: Array<{ kind: 'batch' | 'one'; items: number[] }> = [];
  let running = 0;
  let maxRunning = 0;
  let gates: Array<ReturnType<typeof gate>> = [];
  let released = false;
  const wait = async () => {
    running++;
    maxRunning = Math.max(maxRunning, running);
    try {
      if (!released) {
        const g = gate();
        gates.push(g);
        await g.promise;
      }
    } finally {
      running--;
    }
  };
  const batch = createBatcher<number, string>({
    maxBatch: 3,
    maxInFlight: 1,
    async runBatch(items) {
      calls.push({ kind: 'batch', items: [...items] });
      await wait();
      return items.map((i) => `b${i}`);
    },
    async runOne(item) {
      calls.push({ kind: 'one', items: [item] });
      await wait();
      return `o${item}`;
    },
    ...options,
  });
  return {
    batch,
    calls,
    maxRunning: () => maxRunning,
    /** Lets the runs waiting now go on, and the ones after. */
    async release() {
      released = true;
      const open = gates;
      gates = [];
      for (const g of open) g.open();
      await turn();
    },
    /** Lets the runs waiting now go on (later ones wait again). */
    async step() {
      const open = gates;
      gates = [];
      for (const g of open) g.open();
      await turn();
    },
  };
}

describe('createBatcher', () => {
  it('sends a lone item on its own at once, and gathers the arrivals meanwhile into batches of at most maxBatch', async () => {
    const h = harness();
    const first = h.batch(1);
    expect(h.calls).toEqual([{ kind: 'one', items: [1] }]);
    const later = [2, 3, 4, 5].map((n) => h.batch(n));
    await h.release();
    expect(await first).toBe('o1');
    expect(await Promise.all(later)).toEqual(['b2', 'b3', 'b4', 'o5']);
    expect(h.calls).toEqual([
      { kind: 'one', items: [1] },
      { kind: 'batch', items: [2, 3, 4] },
      { kind: 'one', items: [5] },
    ]);
    expect(h.maxRunning()).toBe(1);
  });

  it('keeps at most maxInFlight batches out', async () => {
    const h = harness({ maxInFlight: 2, maxBatch: 2 });
    const all = [1, 2, 3, 4, 5, 6].map((n) => h.batch(n));
    await turn();
    expect(h.calls).toEqual([
      { kind: 'one', items: [1] },
      { kind: 'one', items: [2] },
    ]);
    await h.release();
    expect(await Promise.all(all)).toEqual(['o1', 'o2', 'b3', 'b4', 'b5', 'b6']);
    expect(h.maxRunning()).toBe(2);
  });

  it("with start 'tick', gathers the arrivals of one turn of the event loop before sending", async () => {
    const h = harness({ start: 'tick', maxBatch: 10 });
    const all = [1, 2, 3].map((n) => h.batch(n));
    expect(h.calls).toEqual([]);
    await h.release();
    expect(await Promise.all(all)).toEqual(['b1', 'b2', 'b3']);
    expect(h.calls).toEqual([{ kind: 'batch', items: [1, 2, 3] }]);
  });

  it('runs each item of a failed batch alone, so each gets its own answer', async () => {
    const fallbacks: unknown[] = [];
    const batch = createBatcher<number, string>({
      maxBatch: 10,
      maxInFlight: 1,
      start: 'tick',
      async runBatch() {
        throw new Error('one of them is bad');
      },
      async runOne(item) {
        if (item === 2) throw new Error('2 is bad');
        return `o${item}`;
      },
      onFallback: (error, items, blamed) => fallbacks.push({ message: (error as Error).message, items, blamed }),
    });
    const all = await Promise.allSettled([1, 2, 3].map((n) => batch(n)));
    expect(all.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).message))).toEqual(['o1', '2 is bad', 'o3']);
    expect(fallbacks).toEqual([{ message: 'one of them is bad', items: [1, 2, 3], blamed: undefined }]);
  });

  it('runs the item a failure blames alone and the others together again', async () => {
    const batches: number[][] = [];
    const batch = createBatcher<number, string>({
      maxBatch: 10,
      maxInFlight: 1,
      start: 'tick',
      async runBatch(items) {
        batches.push([...items]);
        if (items.includes(2)) throw Object.assign(new Error('refused'), { item: 2 });
        return items.map((i) => `b${i}`);
      },
      async runOne(item) {
        return item === 2 ? Promise.reject(new Error('refused alone')) : `o${item}`;
      },
      blame: (error) => (error as { item?: number }).item,
    });
    const all = await Promise.allSettled([1, 2, 3, 4].map((n) => batch(n)));
    expect(all.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).message))).toEqual(['b1', 'refused alone', 'b3', 'b4']);
    expect(batches).toEqual([
      [1, 2, 3, 4],
      [1, 3, 4],
    ]);
  });

  it('settles each item with its own entry, which may be a promise that fails for it alone', async () => {
    const batch = createBatcher<number, string>({
      maxBatch: 10,
      maxInFlight: 1,
      start: 'tick',
      runBatch: async (items) => items.map((i) => (i === 2 ? Promise.reject(new Error('after commit')) : `b${i}`)),
      runOne: async (item) => `o${item}`,
    });
    const all = await Promise.allSettled([1, 2, 3].map((n) => batch(n)));
    expect(all.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).message))).toEqual(['b1', 'after commit', 'b3']);
  });

  it('never puts two items of one key in a batch, nor runs them at the same time, and keeps their order', async () => {
    const h = harness({ maxInFlight: 2, maxBatch: 10, keyOf: (n) => (n % 10 === 1 ? 'one' : null) });
    const all = [1, 11, 2, 21, 3].map((n) => h.batch(n));
    // 1 goes alone; 11 waits for it, 2 may go at once; 21 and 3 wait for room.
    expect(h.calls).toEqual([
      { kind: 'one', items: [1] },
      { kind: 'one', items: [2] },
    ]);
    await h.step();
    // 11 goes once 1 is done, with 3 but without 21, which shares its key.
    expect(h.calls.slice(2)).toEqual([{ kind: 'batch', items: [11, 3] }]);
    await h.step();
    expect(h.calls.slice(3)).toEqual([{ kind: 'one', items: [21] }]);
    await h.release();
    expect(await Promise.all(all)).toEqual(['o1', 'b11', 'o2', 'o21', 'b3']);
  });

  it("treats a batch that returns too few results as failed: each item runs alone", async () => {
    const batch = createBatcher<number, string>({
      maxBatch: 10,
      maxInFlight: 1,
      start: 'tick',
      runBatch: async () => ['only one'],
      runOne: async (item) => `o${item}`,
    });
    expect(await Promise.all([1, 2].map((n) => batch(n)))).toEqual(['o1', 'o2']);
  });

  it('refuses limits below one', () => {
    expect(() => createBatcher({ maxBatch: 0, maxInFlight: 1, runBatch: async () => [], runOne: async () => 0 })).toThrow();
  });
});
