import type { Finding, Severity } from '../../processors/core/finding.ts';
import type { RedisClient } from '../redis/connection.ts';
import type { KeyBuilder } from '../redis/keys.ts';
import { runScript } from '../redis/scripts.ts';
import { digestOf, incidentIdOf, type FindingDigest, type IncidentView } from './incident.ts';
import type { NotificationPolicy } from './notification-policy.ts';
import { ScriptStore } from '../redis/script-store.ts';

/** Which channels are on (from the configuration): a channel that is off queues nothing. */
export interface Channels {
  email: boolean;
  alertmanager: boolean;
}

/** How long a resolved incident (and its findings) stays readable: 7 days. */
export const RESOLVED_INCIDENT_TTL_SECONDS = 7 * 86_400;
/** How often an open incident's breakers are looked at, besides the pub/sub nudge when one closes. */
export const BREAKER_CHECK_MS = 5_000;

/**
 * Incidents in Redis (hash tag {ntf}): one hash per incident, its window's findings, the timers and the
 * outbox stream. Every change is one Lua script (noteFinding-4, tickIncident-4).
 */
export class IncidentStore extends ScriptStore {
  private keysOf(id: string): string[] {
    const k = this.keys;
    return [k.incident(id), k.incidentFindings(id), k.incidentTimers(), k.notifyOutbox()];
  }

  /**
   * Adds a finding to its incident (opening a window when none is open).
   * @param breakers the breakers ("scope:id") the finding holds open
   * @param sagaForEventId the saga the finding started, if any
   */
  async note(f: Finding, breakers: readonly string[], sagaForEventId: string | undefined, policy: NotificationPolicy, channels: Channels): Promise<{ result: 'opened' | 'grouped' | 'duplicate'; incidentId: string; window: number }> {
    const id = incidentIdOf(f.kind, f.scope);
    const r = await runScript<string[]>(this.redis, 'noteFinding', this.keysOf(id), [
      this.now(), id, f.findingId, f.kind, f.scope.type, f.scope.id, f.severity, JSON.stringify(breakers), sagaForEventId ?? '',
      policy.groupWaitMs, channels.email ? '1' : '0', channels.alertmanager ? '1' : '0', policy.alertRepushMs, JSON.stringify(digestOf(f)), BREAKER_CHECK_MS,
    ]);
    return { result: r[0] as 'opened' | 'grouped' | 'duplicate', incidentId: id, window: Number(r[1]) };
  }

  /** Incidents whose timer is due now (Redis time). */
  async due(limit: number): Promise<string[]> {
    const now = await this.redisNow();
    return this.redis.zrangebyscore(this.keys.incidentTimers(), '-inf', now, 'LIMIT', 0, limit);
  }

  /** Every incident with a timer (the open ones). */
  open(limit = 1000): Promise<string[]> {
    return this.redis.zrange(this.keys.incidentTimers(), '0', String(limit - 1));
  }

  /** The breakers an incident holds ("scope:id"), for the tick to read their states. */
  async breakersOf(id: string): Promise<string[]> {
    const raw = await this.redis.hget(this.keys.incident(id), 'brk');
    return raw ? (JSON.parse(raw) as string[]) : [];
  }

  /**
   * Runs an incident's timer (tickIncident-4.lua).
   * @param breakersClosed true: all its breakers are closed; false: some are not; undefined: not read
   */
  async tick(id: string, breakersClosed: boolean | undefined, policy: NotificationPolicy, channels: Channels): Promise<{ result: string; window: number; why: string; emails: number; alerts: number }> {
    const r = await runScript<string[]>(this.redis, 'tickIncident', this.keysOf(id), [
      this.now(), id, policy.reminderMs, policy.resolveQuietMs, policy.alertRepushMs,
      breakersClosed === undefined ? '' : breakersClosed ? '1' : '0',
      channels.email ? '1' : '0', channels.alertmanager ? '1' : '0', RESOLVED_INCIDENT_TTL_SECONDS, BREAKER_CHECK_MS,
    ]);
    return { result: r[0]!, window: Number(r[1]), why: r[2] ?? '', emails: Number(r[3] ?? 0), alerts: Number(r[4] ?? 0) };
  }

  /** Makes an incident's timer due now (a breaker of it closed). */
  async nudge(ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    const now = await this.redisNow();
    // XX: only incidents that still have a timer (open ones).
    await this.redis.zadd(this.keys.incidentTimers(), 'XX', ...ids.flatMap((id) => [now, id]));
  }

  /** The incident as stored (without breaker and saga states, which the caller adds), or undefined. */
  async view(id: string, maxIds = 20): Promise<Omit<IncidentView, 'breakers' | 'sagas'> & { breakerKeys: string[]; sagaIds: string[] } | undefined> {
    const [h, ids] = await Promise.all([
      this.redis.hgetall(this.keys.incident(id)),
      this.redis.zrange(this.keys.incidentFindings(id), '0', String(maxIds - 1)),
    ]);
    if (!h.kind) return undefined;
    const digest = (s: string | undefined): FindingDigest | undefined => (s ? (JSON.parse(s) as FindingDigest) : undefined);
    const num = (s: string | undefined) => (s === undefined || s === '' ? undefined : Number(s));
    return {
      id,
      window: Number(h.win ?? 0),
      kind: h.kind,
      scope: { type: (h.st ?? 'global') as IncidentView['scope']['type'], id: h.sid ?? '' },
      severity: (h.sev ?? 'warning') as Severity,
      firstSeverity: (h.sev0 ?? h.sev ?? 'warning') as Severity,
      state: h.state === 'open' ? 'open' : 'resolved',
      openedAt: Number(h.opened ?? 0),
      lastAt: Number(h.last ?? 0),
      resolvedAt: num(h.resolvedAt),
      resolvedWhy: h.why || undefined,
      findingCount: Number(h.n ?? 0),
      mailedCount: Number(h.mailed ?? 0),
      findingIds: ids,
      first: digest(h.first),
      latest: digest(h.latest),
      reminders: Number(h.reminders ?? 0),
      breakerKeys: h.brk ? (JSON.parse(h.brk) as string[]) : [],
      sagaIds: (h.sagas ?? '').split(',').filter(Boolean),
    };
  }

}
