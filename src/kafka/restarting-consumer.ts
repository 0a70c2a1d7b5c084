import type { Consumer } from 'kafkajs';
import { Backoff, sleep } from '../errors/retry-policy.ts';
import type { Logger } from '../observability/logger.ts';

export interface RestartingConsumerOptions {
  /** Makes a new consumer (a crashed kafkajs consumer cannot be run again). */
  create: () => Consumer;
  /** Connects, subscribes and runs it; resolves once `run` is started. */
  start: (consumer: Consumer) => Promise<void>;
  /** Logs its crashes and restarts. */
  log: Logger;
  /** Called on every crash, with whether kafkajs restarts the consumer by itself, and the error. */
  onCrash?: (restartsItself: boolean, error: Error) => void;
  /** Called once a replacement consumer runs (after a crash, or a restart asked for). */
  onRestarted?: (why: string) => void;
  /** Backoff between failed restarts (default 500 ms doubling to 10 s). */
  backoff?: { initialMs: number; maxMs: number };
}

/**
 * A kafkajs consumer kept running through crashes. kafkajs restarts a consumer itself after a
 * retriable error, but not after a non-retriable one ("Failed to find group coordinator", "The
 * coordinator is not aware of this member": a broker outage at the wrong moment), and the consumer then
 * stays stopped without a sound. The chaos suite found the monitor's findings consumer dead that way
 * after a 20 s Kafka outage: every later finding got no incident, e-mail or compensation from that
 * instance. This replaces such a consumer with a new one, with backoff, until it runs or stop() is called.
 * An owner may also ask for a replacement (`restart`: ingest's watchdog, when the fetch loop stalls).
 */
export class RestartingConsumer {
  private readonly o: RestartingConsumerOptions;
  private consumer: Consumer | undefined;
  private stopping = false;
  private restarting: Promise<void> | undefined;
  /** Replacements made (crashes kafkajs did not recover from, and restarts asked for). */
  restarts = 0;

  constructor(o: RestartingConsumerOptions) {
    this.o = o;
  }

  /** The consumer running now (or being started): a batch fetched by another one is no longer its to commit. */
  get current(): Consumer | undefined {
    return this.consumer;
  }

  async start(): Promise<void> {
    await this.launch();
  }

  private async launch(): Promise<void> {
    const consumer = this.o.create();
    this.consumer = consumer;
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      this.o.onCrash?.(payload.restart, payload.error);
      if (payload.restart || this.stopping || this.consumer !== consumer) return;
      this.o.log.error('consumer crashed and kafkajs does not restart it: starting a new one', { error: payload.error });
      void this.restart('a crash kafkajs does not recover from');
    });
    await this.o.start(consumer);
  }

  /**
   * Replaces the current consumer: disconnects it, then starts a new one, with backoff, until one runs
   * or stop() is called. A restart already under way is joined, not doubled.
   */
  restart(why: string): Promise<void> {
    if (this.stopping) return this.restarting ?? Promise.resolve();
    this.restarting ??= (async () => {
      const backoff = new Backoff(this.o.backoff ?? { initialMs: 500, maxMs: 10_000 });
      await this.consumer?.disconnect().catch(() => {});
      while (!this.stopping) {
        try {
          await this.launch();
          this.restarts++;
          this.o.log.info('consumer restarted', { why });
          this.o.onRestarted?.(why);
          return;
        } catch (e) {
          const delay = backoff.next();
          await this.consumer?.disconnect().catch(() => {});
          this.o.log.error('consumer restart failed; retrying', { error: e as Error, why, retryInMs: delay });
          await sleep(delay);
        }
      }
    })().finally(() => {
      this.restarting = undefined;
    });
    return this.restarting;
  }

  /** Stops restarting, waits for a restart under way, and disconnects the consumer. */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.restarting?.catch(() => {});
    await this.consumer?.disconnect();
  }
}
