/**
 * A token bucket per client: `burst` requests at once, then `perMinute` a minute. Bounded memory: at
 * most `maxClients` buckets, the least recently seen dropped first (a dropped client starts full, which
 * only ever errs on the side of letting an operator through).
 */
export class RateLimiter {
  private readonly perMs: number;
  private readonly burst: number;
  private readonly maxClients: number;
  private readonly now: () => number;
  /** Insertion order = least recently seen first (a hit re-inserts). */
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(opts: { perMinute: number; burst: number; maxClients?: number; now?: () => number }) {
    if (!(opts.perMinute > 0) || !(opts.burst >= 1)) throw new RangeError(`rate limit needs perMinute > 0 and burst ≥ 1 (got ${opts.perMinute}, ${opts.burst})`);
    this.perMs = opts.perMinute / 60_000;
    this.burst = opts.burst;
    this.maxClients = opts.maxClients ?? 10_000;
    this.now = opts.now ?? Date.now;
  }

  /** Takes a token for `client`: allowed, or refused with the seconds until the next token. */
  take(client: string): { allowed: true } | { allowed: false; retryAfterSeconds: number } {
    const now = this.now();
    const b = this.buckets.get(client);
    let tokens = this.burst;
    if (b !== undefined) {
      tokens = Math.min(this.burst, b.tokens + (now - b.at) * this.perMs);
      this.buckets.delete(client);
    } else if (this.buckets.size >= this.maxClients) {
      this.buckets.delete(this.buckets.keys().next().value!);
    }
    if (tokens >= 1) {
      this.buckets.set(client, { tokens: tokens - 1, at: now });
      return { allowed: true };
    }
    this.buckets.set(client, { tokens, at: now });
    return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - tokens) / this.perMs / 1000)) };
  }
}
