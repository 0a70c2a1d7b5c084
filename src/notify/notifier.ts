import { randomBytes } from 'node:crypto';
import type { Finding } from '../../processors/core/finding.ts';
import type { BreakerStore } from '../breakers/breaker-store.ts';
import type { BreakerScope } from '../breakers/state.ts';
import type { BreakerTransition } from '../breakers/transition.ts';
import type { Config } from '../config/config.ts';
import type { SagaStore } from '../compensation/saga-store.ts';
import type { Logger } from '../observability/logger.ts';
import type { ResponseMetrics } from '../observability/response-metrics.ts';
import type { RedisClient } from '../redis/connection.ts';
import type { KeyBuilder } from '../redis/keys.ts';
import { alertOf, pushAlerts } from './alertmanager.ts';
import { renderIncidentEmail, type LinkBases } from './email-render.ts';
import { createMailer, type Mailer } from './email-transport.ts';
import { jobIdOf, type BreakerDigest, type IncidentView, type OutboxJob, type SagaDigest } from './incident.ts';
import { IncidentStore, type Channels } from './incident-store.ts';
import { notifies, ONCALL_GROUP, routeGroups, type NotificationPolicy } from './notification-policy.ts';
import { OutboxSender } from './outbox-sender.ts';

export interface NotifierOptions {
  redis: RedisClient;
  keys: KeyBuilder;
  config: Pick<Config, 'smtp' | 'notify'>;
  policy: () => NotificationPolicy;
  breakers: BreakerStore;
  sagas: SagaStore;
  logger: Logger;
  metrics?: ResponseMetrics;
  /** Default: nodemailer on config.smtp.url (none: e-mail is off). */
  mailer?: Mailer;
  /** Test-only virtual clock. */
  clock?: () => number;
}

/**
 * On-call notifications: findings become incidents (grouped in Redis, so every instance agrees), and
 * a background loop turns incident timers into outbox jobs (first e-mail after the group wait,
 * reminders, Alertmanager re-pushes, resolution when the incident's breakers close) and sends the
 * outbox. The finding sink only runs one Lua script per finding: it never waits on SMTP or Alertmanager.
 */
export class Notifier {
  readonly incidents: IncidentStore;
  readonly channels: Channels;
  readonly sender: OutboxSender;
  private readonly o: NotifierOptions;
  private readonly log: Logger;
  private readonly mailer: Mailer | undefined;
  private readonly links: LinkBases;
  private readonly token = `notify-${process.pid}-${randomBytes(6).toString('hex')}`;
  private stopping = false;
  private loops: Promise<void>[] = [];
  private readonly wakers = new Set<() => void>();
  private checkAll = false;

  constructor(o: NotifierOptions) {
    this.o = o;
    this.log = o.logger.child({ component: 'notify' });
    this.mailer = o.mailer ?? (o.config.smtp.url ? createMailer(o.config.smtp.url, o.config.smtp.timeoutMs) : undefined);
    this.channels = { email: this.mailer !== undefined, alertmanager: o.config.notify.alertmanagerUrls.length > 0 };
    this.links = { runbookBaseUrl: o.config.notify.runbookBaseUrl, dashboardUrl: o.config.notify.dashboardUrl };
    this.incidents = new IncidentStore(o.redis, o.keys, o.clock);
    this.sender = new OutboxSender({
      redis: o.redis,
      keys: o.keys,
      consumer: this.token,
      logger: o.logger,
      ...(o.metrics ? { metrics: o.metrics } : {}),
      sendLeaseMs: o.config.smtp.timeoutMs * 4,
      messageDomain: o.config.smtp.from.split('@')[1] ?? 'vigil.local',
      handlers: {
        view: (id) => this.view(id),
        ...(this.mailer ? { email: (job: OutboxJob, v: IncidentView, messageId: string, inReplyTo: string | undefined) => this.sendEmail(job, v, messageId, inReplyTo) } : {}),
        ...(this.channels.alertmanager ? { alert: (_job: OutboxJob, v: IncidentView) => this.pushAlert(v) } : {}),
      },
    });
  }

  /** Whether any channel is on. */
  get enabled(): boolean {
    return this.channels.email || this.channels.alertmanager;
  }

  /**
   * Adds a finding to its incident, if it notifies at all (not shadow, severe enough). Only Redis.
   * @param breakers breakers ("scope:id") the finding holds open; @param sagaForEventId its saga, if any
   */
  async noteFinding(f: Finding, breakers: readonly string[], sagaForEventId?: string): Promise<'opened' | 'grouped' | 'duplicate' | 'ignored'> {
    const policy = this.o.policy();
    if (!this.enabled || !notifies(f, policy)) return 'ignored';
    const r = await this.incidents.note(f, breakers, sagaForEventId, policy, this.channels);
    if (r.result === 'grouped') {
      if (this.channels.email) this.o.metrics?.notifications.inc({ channel: 'email', outcome: 'grouped' });
      if (this.channels.alertmanager) this.o.metrics?.notifications.inc({ channel: 'alertmanager', outcome: 'grouped' });
    } else if (r.result === 'opened') {
      this.log.info('incident opened', { incident: r.incidentId, window: r.window, kind: f.kind, scope: f.scope.type, findingId: f.findingId });
      if (this.channels.alertmanager) this.o.metrics?.notifications.inc({ channel: 'alertmanager', outcome: 'queued' });
      this.wake();
    }
    return r.result;
  }

  /** A breaker changed: one that closed may resolve incidents, so look at every open one now. */
  onBreakerTransition(t: BreakerTransition): void {
    if (t.to === 'closed' || t.to === 'forced_closed') {
      this.checkAll = true;
      this.wake();
    }
  }

  start(): void {
    if (!this.enabled || this.loops.length > 0) return;
    this.loops.push(this.loop('tick', () => this.tickDue()), this.loop('send', () => this.sender.step()));
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.wake();
    await Promise.all(this.loops);
    this.mailer?.close();
  }

  private wake(): void {
    for (const w of [...this.wakers]) w();
  }

  private async loop(name: string, body: () => Promise<number>): Promise<void> {
    let last = '';
    while (!this.stopping) {
      let busy = 0;
      try {
        busy = await body();
        last = '';
      } catch (e) {
        const msg = (e as Error).message;
        if (msg !== last) this.log.error(`notification ${name} loop failed; retrying`, { error: e as Error });
        last = msg;
      }
      if (this.stopping) break;
      if (busy > 0) continue;
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(t);
          this.wakers.delete(done);
          resolve();
        };
        const t = setTimeout(done, this.o.config.notify.pollMs);
        this.wakers.add(done);
      });
    }
  }

  /** Runs the due incident timers (or every open incident after a breaker closed). */
  async tickDue(): Promise<number> {
    const all = this.checkAll;
    this.checkAll = false;
    const ids = all ? await this.incidents.open() : await this.incidents.due(100);
    const policy = this.o.policy();
    let queued = 0;
    for (const id of ids) {
      const keys = await this.incidents.breakersOf(id);
      const closed = keys.length === 0 ? undefined : (await this.breakerDigests(keys)).every((b) => b.state === 'closed' || b.state === 'forced_closed');
      const r = await this.incidents.tick(id, closed, policy, this.channels);
      if (r.result === 'resolved') this.log.info('incident resolved', { incident: id, window: r.window, why: r.why });
      if (r.emails > 0) this.o.metrics?.notifications.inc({ channel: 'email', outcome: 'queued' }, r.emails);
      if (r.alerts > 0) this.o.metrics?.notifications.inc({ channel: 'alertmanager', outcome: 'queued' }, r.alerts);
      queued += r.emails + r.alerts;
    }
    return all ? 0 : queued;
  }

  /** The incident with its breakers' and sagas' current states. */
  async view(id: string): Promise<IncidentView | undefined> {
    const v = await this.incidents.view(id);
    if (!v) return undefined;
    const { breakerKeys, sagaIds, ...rest } = v;
    const [breakers, sagas] = await Promise.all([this.breakerDigests(breakerKeys), this.sagaDigests(sagaIds.slice(0, 20))]);
    return { ...rest, breakers, sagas };
  }

  private async breakerDigests(keys: readonly string[]): Promise<BreakerDigest[]> {
    return Promise.all(
      keys.map(async (k) => {
        const at = k.indexOf(':');
        const scope = k.slice(0, at) as BreakerScope;
        const id = k.slice(at + 1);
        const b = await this.o.breakers.get(scope, id);
        const s = b?.status;
        return { scope, id, state: s?.kind ?? 'closed', until: s && 'until' in s ? s.until : null, trips: b?.trips ?? 0 };
      }),
    );
  }

  private async sagaDigests(ids: readonly string[]): Promise<SagaDigest[]> {
    const sagas = await this.o.sagas.getMany(ids);
    return sagas.flatMap((s) =>
      s ? [{ forEventId: s.forEventId, kind: s.command.kind, vendor: s.command.vendor, action: s.command.action, state: s.state, attempts: s.attempts, succeededAt: s.succeededAt, failedAt: s.failedAt }] : [],
    );
  }

  /** The addresses of an incident: its routes' groups, from the configuration only. */
  recipientsOf(v: Pick<IncidentView, 'kind' | 'severity' | 'scope'>): string[] {
    const groups = routeGroups(this.o.policy(), { kind: v.kind, severity: v.severity, scopeType: v.scope.type, scopeId: v.scope.id });
    const out = new Set<string>();
    for (const g of groups) {
      const list = g === ONCALL_GROUP ? this.o.config.smtp.to : this.o.config.smtp.recipients[g];
      if (!list) this.log.warn('notification route names a recipient group the configuration does not define', { group: g });
      for (const a of list ?? []) out.add(a);
    }
    return [...out];
  }

  private async sendEmail(job: OutboxJob, v: IncidentView, messageId: string, inReplyTo: string | undefined): Promise<void> {
    const now = await this.incidents.redisNow();
    const mail = renderIncidentEmail(v, job, this.links, now);
    const to = this.recipientsOf(v);
    if (to.length === 0) throw new Error(`no recipients for incident ${v.id} (check smtp.to and smtp.recipients)`);
    await this.mailer!.send({
      from: this.o.config.smtp.from,
      to,
      subject: mail.subject,
      text: mail.text,
      html: mail.html,
      messageId,
      ...(inReplyTo ? { inReplyTo } : {}),
      headers: { 'X-Vigil-Incident': v.id, 'X-Vigil-Kind': v.kind, 'X-Vigil-Severity': v.severity, 'X-Vigil-Job': jobIdOf(job) },
    });
  }

  private async pushAlert(v: IncidentView): Promise<void> {
    const now = await this.incidents.redisNow();
    const repush = this.o.policy().alertRepushMs;
    await pushAlerts(this.o.config.notify.alertmanagerUrls, [alertOf(v, this.links, now, Math.max(3 * repush, 300_000))], 5000);
  }
}
