import type { Logger } from '../observability/logger.ts';
import type { ResponseMetrics } from '../observability/response-metrics.ts';
import type { RedisClient } from '../redis/connection.ts';
import type { KeyBuilder } from '../redis/keys.ts';
import { runScript } from '../redis/scripts.ts';
import { jobIdOf, messageIdOf, type IncidentView, type OutboxJob } from './incident.ts';

/** What the sender does with one job, given the incident as it is now. */
export interface OutboxHandlers {
  /** The incident, with its breakers and sagas, or undefined when it expired. */
  view(incidentId: string): Promise<IncidentView | undefined>;
  /** Sends an e-mail job (the Message-ID is given); rejects when SMTP did not take it. */
  email?(job: OutboxJob, view: IncidentView, messageId: string, inReplyTo: string | undefined): Promise<void>;
  /** Pushes an alert job; rejects when an Alertmanager did not take it. */
  alert?(job: OutboxJob, view: IncidentView): Promise<void>;
}

export interface OutboxSenderOptions {
  redis: RedisClient;
  keys: KeyBuilder;
  /** This process's consumer name in the stream's group (and its lease token). */
  consumer: string;
  handlers: OutboxHandlers;
  /** A send's lease: longer than one SMTP attempt with its timeouts. */
  sendLeaseMs: number;
  /** The domain of Message-IDs. */
  messageDomain: string;
  logger: Logger;
  metrics?: ResponseMetrics;
  /** While a channel is down, one job probes it after this long, doubling up to maxBackoffMs. */
  baseBackoffMs?: number;
  maxBackoffMs?: number;
  /** A pending job not acknowledged for this long is taken over (its sender died, or failed). */
  reclaimAfterMs?: number;
}

export const OUTBOX_GROUP = 'senders';
/** How long a sent marker is kept (a redelivered job older than this could be sent again). */
const SENT_TTL_SECONDS = 30 * 86_400;

type Entry = { id: string; job: OutboxJob; retry: boolean };

/**
 * Sends the notification outbox (a Redis stream, KeyBuilder.notifyOutbox) from a background loop: the
 * stream's consumer group hands each new entry to one instance; an entry that is not acknowledged
 * (its send failed, or its sender died) stays pending and is taken over again. Nothing waits on SMTP
 * or Alertmanager but this loop.
 *
 * Backoff is per channel: when a send fails, the channel counts as down and only one job (the one
 * tried longest ago, so one bad message cannot block the rest) probes it, after a delay that doubles
 * up to a cap; the first success brings the channel back and every pending job goes at once.
 *
 * E-mails are sent at least once, and in practice once: a sent marker (with the Message-ID) is checked
 * before and written after each send, and a short per-job lease keeps a second instance off a job
 * that is being sent. What remains: a crash between SMTP's acceptance and the marker sends the e-mail
 * again on recovery, with the same Message-ID (receivers and mail clients can drop the copy).
 * Alerts are idempotent by nature (Alertmanager keys them by labels) and need no marker.
 */
export class OutboxSender {
  readonly stats = { emailsSent: 0, alertsPushed: 0, failures: 0, skipped: 0 };
  private readonly o: OutboxSenderOptions;
  private readonly log: Logger;
  private groupReady = false;
  private gaugedAt = 0;
  /** Channels that failed: no job before `until`, then one probe; `backoff` doubles per failed probe. */
  private readonly down = new Map<string, { until: number; backoff: number; error: string }>();

  constructor(o: OutboxSenderOptions) {
    this.o = o;
    this.log = o.logger.child({ component: 'notify-outbox' });
  }

  private async ensureGroup(): Promise<void> {
    if (this.groupReady) return;
    try {
      await this.o.redis.xgroup('CREATE', this.o.keys.notifyOutbox(), OUTBOX_GROUP, '0', 'MKSTREAM');
    } catch (e) {
      if (!/BUSYGROUP/.test((e as Error).message)) throw e;
    }
    this.groupReady = true;
  }

  /** One pass: new entries, then pending ones not acknowledged for a while. Returns how many were done. */
  async step(): Promise<number> {
    await this.ensureGroup();
    const { redis } = this.o;
    const stream = this.o.keys.notifyOutbox();
    const entries: Entry[] = [];
    const fresh = (await redis.xreadgroup('GROUP', OUTBOX_GROUP, this.o.consumer, 'COUNT', 100, 'STREAMS', stream, '>')) as [string, [string, string[]][]][] | null;
    for (const [, list] of fresh ?? []) for (const [id, fields] of list) entries.push({ id, job: jobOf(fields), retry: false });
    const idle = this.o.reclaimAfterMs ?? 2000;
    const pending = (await redis.xpending(stream, OUTBOX_GROUP, 'IDLE', idle, '-', '+', 100)) as [string, string, number, number][];
    // Longest untried first: a probe of a down channel takes the job tried longest ago.
    pending.sort((a, b) => b[2] - a[2]);
    for (const [id] of pending) {
      // JUSTID: taking a job over must not count as a delivery of it.
      const claimed = (await redis.call('XCLAIM', stream, OUTBOX_GROUP, this.o.consumer, String(idle), id, 'JUSTID')) as string[];
      if (claimed.length === 0) continue;
      const [entry] = (await redis.xrange(stream, id, id)) as [string, string[]][];
      if (entry) entries.push({ id, job: jobOf(entry[1]), retry: true });
    }
    const now = Date.now();
    const probes = new Set<string>();
    let done = 0;
    // Alerts first (a hung SMTP server must not hold them back), then in outbox order: an incident's
    // first e-mail goes before its reminder or resolution.
    const ordered = [...entries].sort((a, b) => (a.job.channel === b.job.channel ? (a.retry === b.retry ? compareIds(a.id, b.id) : 0) : a.job.channel === 'alertmanager' ? -1 : 1));
    for (const e of ordered) {
      const d = this.down.get(e.job.channel);
      if (d && (now < d.until || probes.has(e.job.channel))) continue; // stays pending, ours, until the channel is back
      if (d) probes.add(e.job.channel);
      if (await this.handle(e)) done++;
    }
    await this.gauge();
    return done;
  }

  /** Sends one entry; true when it is done (acknowledged), false when it stays pending. */
  private async handle(e: Entry): Promise<boolean> {
    const { redis, keys, metrics } = this.o;
    const ch = e.job.channel;
    if (e.retry) metrics?.notifications.inc({ channel: ch, outcome: 'retried' });
    const view = await this.o.handlers.view(e.job.incidentId);
    if (view === undefined || (ch === 'email' && !this.o.handlers.email) || (ch === 'alertmanager' && !this.o.handlers.alert)) {
      this.stats.skipped++;
      await runScript(redis, 'ackOutbox', [keys.notifyOutbox()], [OUTBOX_GROUP, e.id]);
      this.log.warn('outbox job dropped: its incident expired or its channel is off', { job: jobIdOf(e.job) });
      return true;
    }
    try {
      if (ch === 'alertmanager') {
        await this.o.handlers.alert!(e.job, view);
        await runScript(redis, 'ackOutbox', [keys.notifyOutbox()], [OUTBOX_GROUP, e.id]);
        this.stats.alertsPushed++;
        metrics?.notifications.inc({ channel: ch, outcome: 'sent' });
        this.up(ch);
        return true;
      }
      const jobId = jobIdOf(e.job);
      const sentKey = keys.notifySent(jobId);
      const leaseKey = keys.notifySendLease(jobId);
      // A follow-up waits for the incident's first e-mail of the window (it may still be retrying).
      let inReplyTo: string | undefined;
      if (e.job.type !== 'opened') {
        const first: OutboxJob = { ...e.job, type: 'opened', n: 0 };
        inReplyTo = messageIdOf(first, this.o.messageDomain);
        if ((await redis.exists(keys.notifySent(jobIdOf(first)))) === 0) return false;
      }
      const claim = await runScript<string>(redis, 'claimMail', [sentKey, leaseKey], [this.o.consumer, this.o.sendLeaseMs]);
      if (claim === 'busy') return false;
      if (claim === 'sent') {
        await runScript(redis, 'ackOutbox', [keys.notifyOutbox()], [OUTBOX_GROUP, e.id]);
        return true;
      }
      const messageId = messageIdOf(e.job, this.o.messageDomain);
      try {
        await this.o.handlers.email!(e.job, view, messageId, inReplyTo);
      } catch (err) {
        await runScript(redis, 'releaseLease', [leaseKey], [this.o.consumer]).catch(() => {});
        throw err;
      }
      await runScript(redis, 'finishMail', [sentKey, leaseKey, keys.notifyOutbox()], [OUTBOX_GROUP, e.id, SENT_TTL_SECONDS, messageId]);
      this.stats.emailsSent++;
      metrics?.notifications.inc({ channel: ch, outcome: 'sent' });
      this.up(ch);
      return true;
    } catch (err) {
      this.stats.failures++;
      metrics?.notifications.inc({ channel: ch, outcome: 'failed' });
      const msg = (err as Error).message;
      const before = this.down.get(ch);
      const backoff = before ? Math.min(this.o.maxBackoffMs ?? 5_000, before.backoff * 2) : (this.o.baseBackoffMs ?? 500);
      this.down.set(ch, { until: Date.now() + backoff, backoff, error: msg });
      // One line when a channel goes down (or fails differently), not one per attempt.
      if (before?.error !== msg) this.log.error('notification not delivered; the outbox keeps it and probes the channel with backoff', { channel: ch, job: jobIdOf(e.job), retryInMs: backoff, error: err as Error });
      return false;
    }
  }

  private up(ch: string): void {
    const d = this.down.get(ch);
    if (!d) return;
    this.down.delete(ch);
    this.log.info('notification channel is back; sending what waited', { channel: ch, downError: d.error });
  }

  /** Outbox depth by channel (the stream holds only jobs not yet done). */
  private async gauge(): Promise<void> {
    if (!this.o.metrics || Date.now() - this.gaugedAt < 5000) return;
    this.gaugedAt = Date.now();
    const all = (await this.o.redis.xrange(this.o.keys.notifyOutbox(), '-', '+', 'COUNT', 10_000)) as [string, string[]][];
    const by: Record<string, number> = { email: 0, alertmanager: 0 };
    for (const [, f] of all) {
      const ch = jobOf(f).channel;
      by[ch] = (by[ch] ?? 0) + 1;
    }
    for (const [channel, n] of Object.entries(by)) this.o.metrics.outboxDepth.set({ channel }, n);
  }
}

function jobOf(fields: string[]): OutboxJob {
  const f: Record<string, string> = {};
  for (let i = 0; i + 1 < fields.length; i += 2) f[fields[i]!] = fields[i + 1]!;
  return {
    channel: f.ch === 'alertmanager' ? 'alertmanager' : 'email',
    incidentId: f.inc ?? '',
    window: Number(f.win ?? 0),
    type: (f.type ?? 'opened') as OutboxJob['type'],
    n: Number(f.n ?? 0),
  };
}

/** Stream ids `<ms>-<seq>` in order. */
function compareIds(a: string, b: string): number {
  const [am, as] = a.split('-').map(Number) as [number, number];
  const [bm, bs] = b.split('-').map(Number) as [number, number];
  return am - bm || as - bs;
}
