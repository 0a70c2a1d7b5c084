import type { AgentEvent } from '../../processors/core/events.ts';
import type { InjectedScenario, Scenario } from './scenarios.ts';
import { consentChurn, NORMAL, normalIntent } from './traffic.ts';
import { World } from './world.ts';

export interface SimulatorOptions {
  seed: number;
  /** Events per second of event time (normal traffic; scenarios add theirs on top). */
  rate: number;
  /** Event time (epoch ms) the traffic starts at. */
  start: number;
  /** Event time after which nothing happens (intents still under way are cut off); none: no end. */
  durationMs?: number | undefined;
  scenarios?: readonly Scenario[];
  /** When the first scenario starts, after `start` (default 5 s: event time is under way by then). */
  scenarioStartMs?: number;
  /** Between two scenarios' starts (default 2.5 s). */
  scenarioGapMs?: number;
  /** Users (default: enough for the rate, at least 2,000). */
  users?: number;
}

/** The users a rate needs: every user rests 20 to 50 s between intents, and some are picked more often. */
export function usersFor(rate: number): number {
  return Math.max(2000, Math.ceil(rate * 60));
}

/**
 * Seeded agent traffic: normal intents arriving at random (Poisson) at a rate that makes `rate`
 * events per second, consent changes now and then, and the named scenarios injected one after the
 * other. Pull events with `until(t)`: they come in event-time order, the same events for the same
 * options however the calls are cut up.
 */
export class Simulator {
  readonly world: World;
  readonly injected: InjectedScenario[] = [];
  readonly start: number;
  private end: number;
  private readonly meanEvents: { events: number; intents: number } = { events: 7, intents: 1 };
  private readonly rate: number;
  private nextIntentAt: number;
  private readonly plan: { at: number; s: Scenario }[];
  /** Events released so far. */
  released = 0;
  /** Normal intents started, and those skipped because every user tried was busy. */
  intents = 0;
  skipped = 0;

  constructor(o: SimulatorOptions) {
    if (!(o.rate > 0)) throw new Error(`rate must be more than 0 events/s, got ${o.rate}`);
    this.world = new World(o.seed, o.users ?? usersFor(o.rate), o.start);
    this.start = o.start;
    this.rate = o.rate;
    this.end = o.durationMs === undefined ? Infinity : o.start + o.durationMs;
    this.nextIntentAt = o.start;
    const first = o.start + (o.scenarioStartMs ?? 5000);
    const gap = o.scenarioGapMs ?? 2500;
    this.plan = (o.scenarios ?? []).map((s, i) => ({ at: Math.round(first + i * gap), s }));
  }

  /** Event time at which the traffic ends (Infinity: none). */
  get endsAt(): number {
    return this.end;
  }

  /** True once the traffic has ended at `t`: nothing more will come. */
  doneAt(t: number): boolean {
    return t >= this.end - 1;
  }

  /** Ends the traffic at event time `t` (Ctrl-C): what is under way then is cut off. */
  stopAt(t: number): void {
    this.end = Math.min(this.end, Math.max(this.start, t) + 1);
  }

  /** The events with an event time up to `t` (and before the end), in event-time order. */
  until(t: number): AgentEvent[] {
    const limit = Math.min(t, this.end - 1);
    const w = this.world;
    for (;;) {
      const scenario = this.plan[0];
      const nextScenario = scenario?.at ?? Infinity;
      const next = Math.min(nextScenario, this.nextIntentAt);
      if (next > limit) break;
      if (scenario && nextScenario <= this.nextIntentAt) {
        this.plan.shift();
        const scope = scenario.s.inject(w, scenario.at);
        this.injected.push({ scenario: scenario.s.name, kind: scenario.s.kind, scope, at: scenario.at, until: scenario.at + scenario.s.spanMs });
        continue;
      }
      const at = this.nextIntentAt;
      const user = w.freeUser(at);
      if (user) {
        const before = w.scheduled;
        normalIntent(w, at, user);
        this.meanEvents.events += w.scheduled - before;
        this.meanEvents.intents++;
        this.intents++;
        if (w.rng.chance(1 / NORMAL.intentsPerRevocation)) {
          const other = w.freeUser(at);
          if (other) consentChurn(w, Math.round(at) + 1 + w.rng.int(5000), other);
        }
      } else {
        this.skipped++;
      }
      const eventsPerIntent = this.meanEvents.events / this.meanEvents.intents;
      this.nextIntentAt += w.rng.exp((eventsPerIntent * 1000) / this.rate);
    }
    const out: AgentEvent[] = [];
    while (w.nextAt() <= limit) out.push(w.pop()!);
    this.released += out.length;
    return out;
  }
}
