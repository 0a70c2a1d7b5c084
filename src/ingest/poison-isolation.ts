import { errorKind } from '../errors/error-kind.ts';
import { blamedEventId, VigilError } from '../errors/vigil-error.ts';

/** More events of one batch failed one by one than the limit allows: see isolatePoison. */
export class PoisonLimitError extends VigilError {
  constructor(limit: number, cause: unknown) {
    super(
      `more than ${limit} events of one batch failed on their own (kafka.poisonLimit): this looks like a bug in vigil or in a ` +
        `detector's stored state rather than bad events, so nothing more is dead-lettered; the partition is held and retried`,
      { retriable: false, cause },
    );
  }
}

export interface IsolationOptions<T> {
  /** Handles a run of items, in order; resolves once its effects are durable and its items marked handled. */
  run(items: readonly T[]): Promise<void>;
  /** The eventId of an item (to match an error that blames one: EventProcessingError). */
  idOf(item: T): string;
  /** Gives up on one item (dead-letters it, durably, and marks it handled). */
  poison(item: T, error: unknown): Promise<void>;
  /** Items this delivery of the batch may still give up on; decremented. Past it: PoisonLimitError. */
  budget: { left: number; readonly limit: number };
  /** Extra tries of a single item whose error is unknown (it may have been a race) before giving up on it. */
  confirmAttempts: number;
  /** Waits between those tries. */
  pause(): Promise<void>;
}

/**
 * Handles `items` in order, giving up only on the ones that fail on their own. A run that fails with a
 * transient error (a dependency down) rejects with it: the caller waits and calls again, and the items
 * already handled are skipped then (they are marked handled), so isolation resumes where it was.
 *
 * A failure that blames an event (EventProcessingError) splits the run there: the events before it, the
 * event itself (given up on), the events after it. Any other failure bisects the run: first half, then
 * second half, down to a single event, which is tried `confirmAttempts` more times when its error is not
 * known to be permanent. Runs are disjoint and in order, each durable before the next starts, exactly as
 * consecutive batches are: a crash at any point redelivers from the first unhandled event, and the
 * handler's redelivery marks stay valid.
 */
export async function isolatePoison<T>(items: readonly T[], opts: IsolationOptions<T>): Promise<void> {
  const giveUp = async (item: T, error: unknown) => {
    if (opts.budget.left <= 0) throw new PoisonLimitError(opts.budget.limit, error);
    opts.budget.left--;
    await opts.poison(item, error);
  };

  const settle = async (run: readonly T[]): Promise<void> => {
    if (run.length === 0) return;
    let failure: unknown;
    try {
      await opts.run(run);
      return;
    } catch (e) {
      if (errorKind(e) === 'transient') throw e;
      failure = e;
    }
    const blamed = blamedEventId(failure);
    const at = blamed === undefined ? -1 : run.findIndex((x) => opts.idOf(x) === blamed);
    if (at >= 0) {
      await settle(run.slice(0, at));
      await giveUp(run[at]!, failure);
      await settle(run.slice(at + 1));
      return;
    }
    if (run.length === 1) {
      await confirmThenGiveUp(run[0]!, failure);
      return;
    }
    const mid = run.length >> 1;
    await settle(run.slice(0, mid));
    await settle(run.slice(mid));
  };

  const confirmThenGiveUp = async (item: T, firstFailure: unknown): Promise<void> => {
    let failure = firstFailure;
    for (let i = 0; i < opts.confirmAttempts && errorKind(failure) === 'unknown'; i++) {
      await opts.pause();
      try {
        await opts.run([item]);
        return;
      } catch (e) {
        if (errorKind(e) === 'transient') throw e;
        failure = e;
      }
    }
    await giveUp(item, failure);
  };

  await settle(items);
}
