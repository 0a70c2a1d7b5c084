import { Gauge, type Registry } from 'prom-client';
import type { Logger } from './logger.ts';
import { withTimeout } from '../errors/timeout.ts';

/** The dependencies the monitor asks, as labelled in vigil_dependency_up. */
export const DEPENDENCIES = ['kafka', 'redis', 'schema_registry', 'smtp'] as const;
export type Dependency = (typeof DEPENDENCIES)[number];

/** A dependency's last answer: up, or down since when and why. */
export interface DependencyState {
  up: boolean;
  /** ISO time of the last probe. */
  checkedAt: string;
  /** While down: since when (ISO) and the last error. */
  downSince?: string;
  error?: string;
}

export interface DependencyProbeOptions {
  /** One check per dependency the monitor uses: resolves when it answers, rejects (or times out) when not. */
  checks: Partial<Record<Dependency, () => Promise<unknown>>>;
  registry: Registry;
  logger: Logger;
  intervalMs: number;
  /** A check that takes longer is a failure (default: min(intervalMs, 3000)). */
  timeoutMs?: number;
  /** Called by stop(): closes what the checks opened (connections of their own). */
  close?: () => Promise<void>;
}

/**
 * Asks each dependency (Kafka, Redis, the schema registry, SMTP: whichever the monitor uses) on an
 * interval whether it answers, and says so in `vigil_dependency_up{dependency}` (1/0) and in /readyz
 * (`down()` names what is down; `states()` is shown as details). Logs each change once (down at warn,
 * back at info), not every failed probe.
 */
export class DependencyProbe {
  private readonly o: DependencyProbeOptions;
  private readonly gauge: Gauge<'dependency'>;
  private readonly state = new Map<Dependency, DependencyState>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(o: DependencyProbeOptions) {
    this.o = o;
    this.gauge = new Gauge({
      name: 'vigil_dependency_up',
      help: 'Whether the monitor reaches a dependency (kafka, redis, schema_registry, smtp): 1 when its last probe answered, 0 when not.',
      labelNames: ['dependency'],
      registers: [o.registry],
    });
    // Until the first probe says otherwise, a dependency the monitor started with is up.
    for (const d of this.dependencies()) this.gauge.set({ dependency: d }, 1);
  }

  dependencies(): Dependency[] {
    return DEPENDENCIES.filter((d) => this.o.checks[d] !== undefined);
  }

  /** Probes now, then every intervalMs until stop(). */
  start(): void {
    if (this.timer || this.stopped) return;
    const tick = () => {
      this.running = this.probeOnce().finally(() => {
        if (!this.stopped) this.timer = setTimeout(tick, this.o.intervalMs);
      });
    };
    tick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
    await this.o.close?.();
  }

  /** Runs every check once (in parallel) and records the answers. */
  async probeOnce(): Promise<void> {
    const timeoutMs = this.o.timeoutMs ?? Math.min(this.o.intervalMs, 3000);
    await Promise.all(this.dependencies().map(async (d) => {
      let error: string | undefined;
      try {
        await withTimeout(this.o.checks[d]!(), timeoutMs, `asking ${d}`);
      } catch (e) {
        error = (e as Error)?.message ?? String(e);
      }
      this.record(d, error);
    }));
  }

  private record(d: Dependency, error: string | undefined): void {
    const now = new Date().toISOString();
    const before = this.state.get(d);
    if (error === undefined) {
      if (before && !before.up) this.o.logger.info('dependency answers again', { dependency: d, downSince: before.downSince });
      this.state.set(d, { up: true, checkedAt: now });
    } else {
      const downSince = before && !before.up ? before.downSince! : now;
      if (!before || before.up) this.o.logger.warn('dependency does not answer: vigil is degraded', { dependency: d, error });
      this.state.set(d, { up: false, checkedAt: now, downSince, error });
    }
    this.gauge.set({ dependency: d }, error === undefined ? 1 : 0);
  }

  /** The dependencies whose last probe failed. */
  down(): Dependency[] {
    return this.dependencies().filter((d) => this.state.get(d)?.up === false);
  }

  /** Each probed dependency's last answer (for /readyz). */
  states(): Partial<Record<Dependency, DependencyState>> {
    return Object.fromEntries(this.dependencies().flatMap((d) => (this.state.has(d) ? [[d, this.state.get(d)!]] : [])));
  }
}
