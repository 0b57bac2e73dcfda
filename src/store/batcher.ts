/**
 * Group commit: work items that arrive while earlier ones are at the database wait, then go
 * together as one batch (one statement, or one transaction), so that one round trip and one
 * commit serve them all. Round trips and commits are most of what a SCIM create or a lifecycle
 * task costs (bench/scim.ts, bench/jobs.ts).
 *
 * - At most `maxInFlight` batches are out at once (each holds a database connection); arrivals
 *   meanwhile form the next batches, of at most `maxBatch` items. At low load an item goes alone,
 *   through `runOne`, so nothing waits for company.
 * - A batch is all or nothing. When it fails, each of its items runs alone, so every item gets its
 *   own answer; when the failure names one item (`blame`), that one runs alone and the others go
 *   together again.
 * - Items of one key (`keyOf`, say the user a task acts on) never share a batch and never run at
 *   the same time: a later one waits for the earlier one's batch, in arrival order.
 */
export interface BatcherOptions<I, R> {
  /**
   * Runs the items together, all or nothing, and returns each item's result in order. An entry may
   * be a promise: work for that item after the batch committed, which may fail for it alone.
   */
  runBatch(items: readonly I[]): Promise<ReadonlyArray<R | PromiseLike<R>>>;
  /** Runs one item on its own: an item that goes alone, and each item of a batch that failed. */
  runOne(item: I): Promise<R>;
  maxBatch: number;
  maxInFlight: number;
  /**
   * When a batch leaves: `now`, as soon as fewer than `maxInFlight` are out; `tick`, after the
   * current turn of the event loop (setImmediate), so that the arrivals of one turn go together.
   */
  start?: 'now' | 'tick';
  /** Items with the same key run one after another; `undefined` or `null`: no constraint. */
  keyOf?(item: I): string | null | undefined;
  /** The item a failed batch's error is due to, when it can tell. */
  blame?(error: unknown, items: readonly I[]): I | undefined;
  /** Told of each failed batch before its items run again (for a log line). */
  onFallback?(error: unknown, items: readonly I[], blamed: I | undefined): void;
}

/** Hands an item to the batcher; resolves with its result once its batch (or its own run) is done. */
export type Batcher<I, R> = (item: I) => Promise<R>;

interface Waiting<I, R> {
  item: I;
  resolve(result: R | PromiseLike<R>): void;
  reject(error: unknown): void;
}

export function createBatcher<I, R>(options: BatcherOptions<I, R>): Batcher<I, R> {
  const { maxBatch, maxInFlight, start = 'now' } = options;
  if (!(maxBatch >= 1) || !(maxInFlight >= 1)) throw new Error('a batcher needs maxBatch and maxInFlight of at least 1');
  const waiting: Array<Waiting<I, R>> = [];
  /** Keys of the items in batches that are out. */
  const busy = new Set<string>();
  let inFlight = 0;
  let scheduled = false;

  const keyOf = (item: I) => options.keyOf?.(item) ?? undefined;

  /** The next batch: the first waiting items, at most one per key and none of a busy key. */
  const take = (): { batch: Array<Waiting<I, R>>; keys: string[] } => {
    const batch: Array<Waiting<I, R>> = [];
    const keys: string[] = [];
    for (let i = 0; i < waiting.length && batch.length < maxBatch; ) {
      const key = keyOf(waiting[i]!.item);
      if (key !== undefined && (busy.has(key) || keys.includes(key))) {
        i++;
        continue;
      }
      if (key !== undefined) keys.push(key);
      batch.push(...waiting.splice(i, 1));
    }
    return { batch, keys };
  };

  const pump = () => {
    while (inFlight < maxInFlight) {
      const { batch, keys } = take();
      if (!batch.length) return;
      inFlight++;
      for (const key of keys) busy.add(key);
      void runGroup(batch).finally(() => {
        inFlight--;
        for (const key of keys) busy.delete(key);
        schedule();
      });
    }
  };

  const schedule = () => {
    if (start === 'now') return pump();
    if (scheduled || !waiting.length) return;
    scheduled = true;
    setImmediate(() => {
      scheduled = false;
      pump();
    });
  };

  const runOne = (w: Waiting<I, R>): Promise<void> => {
    let run: Promise<R>;
    try {
      run = options.runOne(w.item);
    } catch (error) {
      run = Promise.reject(error);
    }
    return run.then(w.resolve, w.reject);
  };

  const runGroup = async (group: Array<Waiting<I, R>>): Promise<void> => {
    if (group.length === 1) return runOne(group[0]!);
    const items = group.map((w) => w.item);
    let results: ReadonlyArray<R | PromiseLike<R>>;
    try {
      results = await options.runBatch(items);
      if (results.length !== group.length) throw new Error(`a batch of ${group.length} returned ${results.length} results`);
    } catch (error) {
      const blamed = options.blame?.(error, items);
      const culprit = blamed === undefined ? undefined : group.find((w) => w.item === blamed);
      options.onFallback?.(error, items, culprit?.item);
      if (culprit) await Promise.all([runOne(culprit), runGroup(group.filter((w) => w !== culprit))]);
      else await Promise.all(group.map(runOne));
      return;
    }
    await Promise.all(group.map((w, i) => Promise.resolve(results[i]!).then(w.resolve, w.reject)));
  };

  return (item) =>
    new Promise<R>((resolve, reject) => {
      waiting.push({ item, resolve, reject });
      schedule();
    });
}
