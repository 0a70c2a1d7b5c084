import { setTimeout as sleep } from 'node:timers/promises';
import type { Producer } from 'kafkajs';
import type { AgentEvent } from '../../processors/core/events.ts';
import type { Config } from '../../src/config/config.ts';
import { PRODUCER_OPTIONS } from '../../src/kafka/kafka-client.ts';
import { silentLogger } from '../../src/observability/logger.ts';
import { openKafkaSink, type KafkaSink } from '../../src/simulate/kafka-output.ts';
import { SCENARIOS } from '../../src/simulate/scenarios.ts';
import { Simulator } from '../../src/simulate/simulator.ts';
import { testKafka } from '../helpers/kafka-helpers.ts';

/** Event time the chaos traffic starts at (fixed: the same seed gives the same events and findings). */
export const CHAOS_START = Date.parse('2026-11-20T00:00:00.000Z');

export interface TrafficPlan {
  seed: number;
  /** Events per second of event time (normal traffic). */
  rate: number;
  /** Event time the traffic covers. */
  durationMs: number;
  /** Every scenario of src/simulate (one per anomaly kind) this many times, spread over the traffic. */
  rounds: number;
}

/**
 * The chaos traffic, made up front (src/simulate: normal agent traffic with every anomaly kind's
 * scenario injected `rounds` times), then the closing events: one per partition, four times, each
 * four minutes of event time later (within the 5-minute future bound), so every partition's watermark
 * passes every decision the traffic left due (the orphaned-action wait is 5 minutes).
 */
export function makeTraffic(plan: TrafficPlan, partitions: number, run: string): { events: AgentEvent[]; closing: { partition: number; event: AgentEvent }[]; injected: number } {
  const scenarios = Array.from({ length: plan.rounds }, () => SCENARIOS).flat();
  const first = 5000;
  // the scenarios end 7 minutes before the traffic does, so the slowest decisions come due in it
  const span = Math.max(0, plan.durationMs - first - 420_000);
  const sim = new Simulator({ seed: plan.seed, rate: plan.rate, start: CHAOS_START, durationMs: plan.durationMs, scenarios, scenarioStartMs: first, scenarioGapMs: scenarios.length > 1 ? span / (scenarios.length - 1) : 2500 });
  const events: AgentEvent[] = [];
  for (let t = CHAOS_START + 60_000; ; t += 60_000) {
    events.push(...sim.until(t));
    if (sim.doneAt(t)) break;
  }
  const last = Date.parse(events[events.length - 1]!.occurredAt);
  const closing: { partition: number; event: AgentEvent }[] = [];
  for (let step = 1; step <= 4; step++) {
    const at = last + step * 240_000;
    for (let p = 0; p < partitions; p++) {
      closing.push({
        partition: p,
        event: {
          eventId: `${run}-closing-${step}-${p}`, type: 'intent.parsed', occurredAt: new Date(at).toISOString(), userId: `u_closing_${p}`, agentId: 'trip-planner',
          agentVersion: '2.3.1', intentId: `${run}-closing-${step}-${p}`, action: { name: 'flight.search', vendor: 'other-air', riskTier: 'low', stateChanging: false },
        },
      });
    }
  }
  return { events, closing, injected: sim.injected.length };
}

/** What a pump did: events sent, sends that failed and were sent again (their events may be on the topic twice). */
export interface PumpStats {
  sent: number;
  failedSends: number;
  resentEvents: number;
}

/**
 * Produces the traffic to the input topic straight to the broker (never through the proxy), Avro
 * through the registry as `vigil simulate` does, paced so it spreads over `wallMs`: the monitor works
 * under load while the faults happen. A send that fails (the broker is down) is tried again until it
 * goes, so the topic may hold an event twice: the monitor's dedupe must make that harmless.
 */
export class TrafficPump {
  readonly stats: PumpStats = { sent: 0, failedSends: 0, resentEvents: 0 };
  private sink: KafkaSink | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  /** True once every event given to start() is on the topic. */
  finished = false;

  private readonly config: Config;

  constructor(config: Config) {
    this.config = config;
  }

  async open(): Promise<void> {
    this.sink = await openKafkaSink(this.config, silentLogger);
  }

  /** Starts sending `events` over `wallMs`; done() resolves when the last one is on the topic. */
  start(events: readonly AgentEvent[], wallMs: number, chunkMs = 250): void {
    const began = Date.now();
    this.running = (async () => {
      let next = 0;
      while (next < events.length && !this.stopped) {
        const due = Math.min(events.length, Math.ceil((events.length * (Date.now() - began + chunkMs)) / wallMs));
        if (due > next) {
          const part = events.slice(next, due);
          await this.sendWithRetry(part);
          next = due;
        }
        await sleep(chunkMs);
      }
      this.finished = next >= events.length;
    })();
  }

  async done(): Promise<void> {
    await this.running;
  }

  /** Sends the closing events to their partitions (JSON: the monitor reads both). */
  async sendClosing(closing: readonly { partition: number; event: AgentEvent }[]): Promise<void> {
    const producer: Producer = testKafka(this.config).producer(PRODUCER_OPTIONS);
    await producer.connect();
    try {
      await retrying(() => producer.send({ topic: this.config.kafka.topics.actions, acks: -1, messages: closing.map((c) => ({ partition: c.partition, key: c.event.userId, value: JSON.stringify(c.event) })) }), () => this.stats.failedSends++);
    } finally {
      await producer.disconnect();
    }
  }

  async close(): Promise<void> {
    this.stopped = true;
    await this.running?.catch(() => undefined);
    await this.sink?.close().catch(() => undefined);
  }

  private async sendWithRetry(part: readonly AgentEvent[]): Promise<void> {
    const sink = this.sink!;
    await retrying(
      () => sink.send(part),
      () => {
        this.stats.failedSends++;
        this.stats.resentEvents += part.length;
      },
    );
    this.stats.sent += part.length;
  }
}

async function retrying(fn: () => Promise<unknown>, onFailure: () => void): Promise<void> {
  for (;;) {
    try {
      await fn();
      return;
    } catch {
      onFailure();
      await sleep(500);
    }
  }
}

/** Messages of the input topic the monitor's group has not committed yet (the broker's view); undefined when it cannot be read. */
export async function inputLag(config: Config): Promise<number | undefined> {
  const admin = testKafka(config).admin();
  try {
    await admin.connect();
    const [ends, groups] = await Promise.all([admin.fetchTopicOffsets(config.kafka.topics.actions), admin.fetchOffsets({ groupId: config.kafka.groupId, topics: [config.kafka.topics.actions] })]);
    const committed = new Map((groups[0]?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]));
    return ends.reduce((n, e) => n + Math.max(0, Number(e.high) - Math.max(0, committed.get(e.partition) ?? 0)), 0);
  } catch {
    return undefined;
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}
