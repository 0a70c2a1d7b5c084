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
  /** Called on every crash, with whether kafkajs restarts the consumer by itself. */
  onCrash?: (restartsItself: boolean) => void;
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
 */
export class RestartingConsumer {
  private readonly o: RestartingConsumerOptions;
  private consumer: Consumer | undefined;
  private stopping = false;
  private restarting: Promise<void> | undefined;
  /** Restarts after a crash kafkajs did not recover from. */
  restarts = 0;

  constructor(o: RestartingConsumerOptions) {
    this.o = o;
  }

  async start(): Promise<void> {
    await this.launch();
  }

  private async launch(): Promise<void> {
    const consumer = this.o.create();
    this.consumer = consumer;
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      this.o.onCrash?.(payload.restart);
      if (payload.restart || this.stopping || this.consumer !== consumer) return;
      this.o.log.error('consumer crashed and kafkajs does not restart it: starting a new one', { error: payload.error });
      void this.restart(consumer);
    });
    await this.o.start(consumer);
  }

  private restart(crashed: Consumer): Promise<void> {
    this.restarting ??= (async () => {
      const backoff = new Backoff(this.o.backoff ?? { initialMs: 500, maxMs: 10_000 });
      await crashed.disconnect().catch(() => {});
      while (!this.stopping) {
        try {
          await this.launch();
          this.restarts++;
          this.o.log.info('consumer restarted after a crash');
          return;
        } catch (e) {
          const delay = backoff.next();
          await this.consumer?.disconnect().catch(() => {});
          this.o.log.error('consumer restart failed; retrying', { error: e as Error, retryInMs: delay });
          await sleep(delay);
        }
      }
    })().finally(() => {
      this.restarting = undefined;
    });
    return this.restarting;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.restarting?.catch(() => {});
    await this.consumer?.disconnect();
  }
}
