import type { CheckFields } from './check.ts';

/**
 * The client's local cache of breaker fields, kept fresh by pub/sub: a transition message invalidates
 * its breaker; a per-key generation stops a read that started before an invalidation from writing stale
 * fields after it; a TTL bounds staleness if a message is ever lost. While the subscription is down the
 * cache is disabled and empty.
 */
export class CheckCache {
  private readonly entries = new Map<string, { fields: CheckFields; at: number }>();
  private readonly gens = new Map<string, number>();
  private epoch = 0;
  enabled = false;
  readonly ttlMs: number;
  readonly maxEntries: number;
  private readonly clock: () => number;
  constructor(ttlMs: number, maxEntries = 100_000, clock: () => number = Date.now) {
    this.ttlMs = ttlMs;
    this.maxEntries = maxEntries;
    this.clock = clock;
  }

  /** Fresh fields of a breaker, or undefined. */
  get(key: string): CheckFields | undefined {
    if (!this.enabled) return undefined;
    const e = this.entries.get(key);
    if (!e) return undefined;
    if (this.clock() - e.at >= this.ttlMs) {
      this.entries.delete(key);
      return undefined;
    }
    return e.fields;
  }

  /** A token to pass to set(): taken before the read. */
  token(key: string): string {
    return `${this.epoch}:${this.gens.get(key) ?? 0}`;
  }

  set(key: string, fields: CheckFields, token: string): void {
    if (!this.enabled || token !== this.token(key)) return;
    if (this.entries.size >= this.maxEntries) this.entries.clear();
    this.entries.set(key, { fields, at: this.clock() });
  }

  invalidate(key: string): void {
    this.gens.set(key, (this.gens.get(key) ?? 0) + 1);
    this.entries.delete(key);
  }

  clear(): void {
    this.epoch += 1;
    this.gens.clear();
    this.entries.clear();
  }

  get size(): number {
    return this.entries.size;
  }
}
