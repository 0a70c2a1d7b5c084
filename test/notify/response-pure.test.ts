import { readFileSync } from 'node:fs';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { ANOMALY_KINDS } from '../../processors/core/finding.ts';
import { ALL_DETECTORS } from '../../processors/registry.ts';
import { piiKindOf } from '../../processors/shared/pii.ts';
import { policySectionValidators } from '../../src/app/policy-sections.ts';
import { replayCommand } from '../../src/cli/replay.ts';
import type { PlanLine } from '../../src/cli/replay-plan.ts';
import { checkCompensationPolicy, compensationKindFor } from '../../src/compensation/compensation-policy.ts';
import { loadConfig } from '../../src/config/config.ts';
import { ConfigError } from '../../src/errors/vigil-error.ts';
import { alertOf } from '../../src/notify/alertmanager.ts';
import { renderIncidentEmail } from '../../src/notify/email-render.ts';
import type { IncidentView } from '../../src/notify/incident.ts';
import { cleanText, maskPii } from '../../src/notify/mask.ts';
import { checkNotificationPolicy } from '../../src/notify/notification-policy.ts';
import { loadPolicyFile, parsePolicy } from '../../src/policy/load-policy.ts';
import avro from 'avsc';
import type { CompensationCommand } from '../../src/compensation/plan-compensation.ts';
import { COMPENSATION_KINDS } from '../../processors/core/events.ts';
import { avroSchema } from '../../src/kafka/schemas.ts';
import { PolicyError } from '../../src/policy/policy-error.ts';

const validators = policySectionValidators(['oncall', 'payments']);
const refused = (text: string): string => {
  try {
    parsePolicy(text, 'vigil.policy.yaml', { detectors: ALL_DETECTORS, sectionValidators: validators });
  } catch (e) {
    expect(e).toBeInstanceOf(PolicyError);
    return (e as Error).message;
  }
  throw new Error('policy was accepted');
};

describe('policy: compensations and notifications sections', () => {
  it('are refused with file, line and field', () => {
    expect(refused('compensations:\n  rules:\n    duplicate_action: { action: burn }\n')).toBe(
      'vigil.policy.yaml:3: compensations.rules.duplicate_action.action: must be one of cancel, refund, void_auth, release_hold, none, got "burn"',
    );
    expect(refused('compensations:\n  timeoutMs: 10\n')).toBe('vigil.policy.yaml:2: compensations.timeoutMs: must be a whole number from 1000 to 604800000, got 10');
    expect(refused('compensations:\n  rules:\n    retry_spike: { action: cancel }\n')).toMatch(/^vigil\.policy\.yaml:3: compensations\.rules\.retry_spike\.action: retry_spike findings name no single action to undo/);
    expect(refused('compensations:\n  resend: { baseMs: 100, capMs: 50 }\n')).toBe('vigil.policy.yaml:2: compensations.resend.capMs: must be ≥ baseMs (100), got 50');
    expect(refused('notifications:\n  routes:\n    - match: { severity: loud }\n      to: [oncall]\n')).toBe(
      'vigil.policy.yaml:3: notifications.routes[0].match.severity: must be one or a list of info, warning, critical, got "loud"',
    );
    expect(refused('notifications:\n  routes:\n    - to: [pager]\n')).toBe(
      'vigil.policy.yaml:3: notifications.routes[0].to: unknown recipient group "pager" (the configuration defines: oncall, payments; add it to smtp.recipients)',
    );
    expect(refused('notifications:\n  routes:\n    - to: ["a@b.example"]\n')).toMatch(/notifications\.routes\[0\]\.to: must be a recipient group name .*never addresses here/);
    expect(refused('notifications:\n  groupWait: 5\n')).toBe('vigil.policy.yaml:2: notifications.groupWait: unknown key (known: minSeverity, groupWaitMs, reminderMs, resolveQuietMs, alertRepushMs, routes)');
  });

  it('the shipped vigil.policy.yaml states the defaults, and validates', () => {
    const p = loadPolicyFile('vigil.policy.yaml', { detectors: ALL_DETECTORS, sectionValidators: validators });
    expect(checkCompensationPolicy(p.sections.compensations)).toEqual(checkCompensationPolicy(undefined));
    expect(checkNotificationPolicy(p.sections.notifications).problems).toEqual([]);
  });

  it('picks the compensation kind by action name: exact name, then the longest prefix', () => {
    const { policy } = checkCompensationPolicy({ rules: { duplicate_action: { action: 'cancel', byAction: { 'payment.*': 'refund', 'payment.hold': 'release_hold', 'order.*': 'none' } } } });
    const rule = policy.rules.duplicate_action!;
    expect(['flight.book', 'payment.send', 'payment.hold', 'order.place'].map((a) => compensationKindFor(rule, a))).toEqual(['cancel', 'refund', 'release_hold', 'none']);
  });
});

describe('the compensation command schema', () => {
  it('has exactly the fields of CompensationCommand, and a full command round-trips', () => {
    const c: Required<CompensationCommand> = {
      commandId: 'cmp_ab#1', idempotencyKey: 'cmp_ab', findingId: 'f_ab', findingKind: 'duplicate_action', kind: 'refund', forEventId: 'e2',
      vendor: 'acme-air', action: 'payment.send', reason: 'twice', scopeType: 'user', scopeId: 'u_1', attempt: 1,
      requestedAt: '2026-11-20T10:00:01.000Z', detectedAt: '2026-11-20T10:00:00.000Z', policyVersion: 'p-1',
    };
    const schema = avroSchema('compensation-command') as { fields: { name: string; type: unknown }[] };
    expect(schema.fields.map((f) => f.name).sort()).toEqual(Object.keys(c).sort());
    expect((schema.fields.find((f) => f.name === 'kind')!.type as { symbols: string[] }).symbols).toEqual([...COMPENSATION_KINDS]);
    const type = avro.Type.forSchema(schema as avro.Schema);
    expect(type.fromBuffer(type.toBuffer(c))).toEqual(c);
  });
});

describe('PII masking and header-safe text', () => {
  it('masks whatever the unmasked_pii detector would flag, and leaves ordinary ids alone', () => {
    const samples = ['jane.doe@example.com', 'call +44 20 7946 0958 now', '(415) 555-0123', '4111 1111 1111 1111', 'card 4242424242424242 ok', 'u_x\r\nBcc: a@evil.example'];
    for (const s of samples) {
      expect(piiKindOf(s)).toBeDefined();
      expect(piiKindOf(maskPii(s)), `${s} → ${maskPii(s)}`).toBeUndefined();
    }
    expect(maskPii('jane.doe@example.com')).toBe('j***@e***.com');
    expect(maskPii('4111 1111 1111 1111')).toBe('**** **** **** 1111');
    for (const s of ['u_4f2a', 'travel-assistant', 'f_0123456789abcdef0123456789abcdef', '2026-11-20T10:00:00.000Z', 'PNR-12345']) expect(maskPii(s)).toBe(s);
    expect(cleanText('a\r\nb\tc\u2028d')).toBe('a b c d');
  });

  it('builds the subject from enums and the incident id only; values are escaped in HTML', () => {
    const v: IncidentView = {
      id: '0123456789abcdef', window: 2, kind: 'duplicate_action', scope: { type: 'user', id: 'u<script>\r\nBcc: x@evil.example' },
      severity: 'critical', firstSeverity: 'critical', state: 'open', openedAt: 1, lastAt: 2, resolvedAt: undefined, resolvedWhy: undefined,
      findingCount: 1, mailedCount: 0, findingIds: ['f_1'], reminders: 0, breakers: [], sagas: [],
      first: { findingId: 'f_1', summary: 'Subject: pwned\r\n<b>x</b>', detectedAt: '2026-11-20T10:00:00.000Z', severity: 'critical', ruleId: 'r', policyVersion: 'p', eventIds: ['e\r\nTo: y@evil.example'], traceIds: [] },
      latest: undefined,
    };
    const m = renderIncidentEmail(v, { channel: 'email', incidentId: v.id, window: 2, type: 'opened', n: 0 }, { runbookBaseUrl: '', dashboardUrl: '' }, 3);
    expect(m.subject).toBe('[vigil] CRITICAL duplicate_action on a user: incident 01234567 new');
    expect(m.text).not.toMatch(/\r|\n(Bcc|To|Subject):/);
    expect(m.text).toContain('Runbook:         docs/runbooks/duplicate_action.md');
    expect(m.html).not.toContain('<script>');
    expect(m.html).toContain('u&lt;script&gt; Bcc: x***@e***.example');
    const alert = alertOf(v, { runbookBaseUrl: 'https://r.example', dashboardUrl: '' }, 3, 300_000);
    expect(alert.labels.scope_id).toBe('u<script> Bcc: x***@e***.example');
    expect(alert.annotations.runbook_url).toBe('https://r.example/duplicate_action.md');
  });
});

describe('runbooks', () => {
  it('docs/runbooks has every kind, each with meaning, confirmation, mitigation (with the breaker CLI) and closing', () => {
    for (const kind of ANOMALY_KINDS) {
      const text = readFileSync(new URL(`../../docs/runbooks/${kind}.md`, import.meta.url), 'utf8');
      expect(text.startsWith(`# ${kind}\n`)).toBe(true);
      for (const h of ['## What it means', '## How to confirm', '## How to mitigate', '## How to close it']) expect(text, `${kind}: ${h}`).toContain(h);
      expect(text).toMatch(/vigil breakers (open|reset) /);
    }
  });
});

describe('vigil replay --plan', () => {
  it('prints what the policy would do on a file, and sends nothing', async () => {
    const out: string[] = [];
    const err: string[] = [];
    const stdout = Object.assign(new PassThrough(), { write: (s: string) => (out.push(s), true) });
    const stderr = Object.assign(new PassThrough(), { write: (s: string) => (err.push(s), true) });
    const code = await replayCommand(['samples/demo-traffic.jsonl', '--plan', '--format', 'jsonl'], { stdout, stderr, stdin: process.stdin } as never);
    expect(code).toBe(0);
    const lines = out.join('').trim().split('\n').map((l) => JSON.parse(l) as PlanLine);
    const comps = lines.filter((l) => l.plan === 'compensation');
    expect(comps.map((l) => l.plan === 'compensation' && `${l.findingKind} ${l.kind}`).sort()).toEqual(['action_after_consent_revoked cancel', 'duplicate_action cancel', 'unconfirmed_action cancel']);
    const notes = lines.filter((l) => l.plan === 'notification');
    expect(notes).toHaveLength(7);
    expect(notes.every((l) => l.plan === 'notification' && l.to.join() === 'oncall' && l.emails === 1 && l.alert)).toBe(true);
    expect(lines.filter((l) => l.plan === 'breaker').map((l) => l.plan === 'breaker' && `${l.scope}:${l.id}`).sort()).toEqual(['agent:travel-assistant', 'user:u_0175', 'user:u_0421', 'vendor:acme-air']);
    expect(err.join('')).toContain('plan: 4 breaker trips (0 shadow), 3 compensations (0 shadow), 7 incidents → 7 e-mails and 7 alerts; nothing was sent');
    // each compensation undoes the finding's last evidence event: the later duplicate, the unconfirmed or revoked request
    out.length = 0;
    expect(await replayCommand(['samples/demo-traffic.jsonl', '--format', 'jsonl'], { stdout, stderr, stdin: process.stdin } as never)).toBe(0);
    const findings = out.join('').trim().split('\n').map((l) => JSON.parse(l) as { findingId: string; eventIds: string[]; target?: { eventId: string } });
    for (const c of comps) {
      const f = findings.find((x) => c.plan === 'compensation' && x.findingId === c.findingId)!;
      expect(c.plan === 'compensation' && c.forEventId).toBe(f.eventIds[f.eventIds.length - 1]);
      expect(f.target?.eventId).toBe(f.eventIds[f.eventIds.length - 1]);
    }
  });
});

describe('configuration of the channels', () => {
  const refusedConfig = (env: NodeJS.ProcessEnv): string => {
    try {
      loadConfig(env);
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      return (e as Error).message;
    }
    throw new Error('config accepted');
  };

  it('reads recipient groups, Alertmanager URLs and webhooks', () => {
    const c = loadConfig({
      VIGIL_ONCALL_TO: 'a@x.example, b@x.example', VIGIL_MAIL_RECIPIENTS: 'payments=p1@x.example p2@x.example; sre=s@x.example',
      VIGIL_ALERTMANAGER_URLS: 'http://am1:9093/, http://am2:9093', VIGIL_COMPENSATION_WEBHOOKS: 'acme-air=https://acme.example/undo,globex=http://g.example/c',
    });
    expect(c.smtp.to).toEqual(['a@x.example', 'b@x.example']);
    expect(c.smtp.recipients).toEqual({ payments: ['p1@x.example', 'p2@x.example'], sre: ['s@x.example'] });
    expect(c.notify.alertmanagerUrls).toEqual(['http://am1:9093', 'http://am2:9093']);
    expect(c.compensation.webhooks).toEqual({ 'acme-air': 'https://acme.example/undo', globex: 'http://g.example/c' });
  });

  it('refuses odd addresses and bad values, naming their source', () => {
    expect(refusedConfig({ VIGIL_ONCALL_TO: 'oncall@x.example\r\nBcc: evil@y.example' })).toMatch(/^env VIGIL_ONCALL_TO: "Bcc:" is not an e-mail address/);
    expect(refusedConfig({ VIGIL_ONCALL_TO: '"Eve" <eve@x.example>' })).toMatch(/^env VIGIL_ONCALL_TO: ""Eve"" is not an e-mail address/);
    expect(refusedConfig({ VIGIL_MAIL_FROM: 'vigil' })).toBe('env VIGIL_MAIL_FROM: "vigil" is not an e-mail address (local@domain, no spaces, quotes, angle brackets or line breaks)');
    expect(refusedConfig({ VIGIL_MAIL_RECIPIENTS: 'payments' })).toBe('env VIGIL_MAIL_RECIPIENTS: "payments" must be name=address [address…] (groups separated by ;)');
    expect(refusedConfig({ VIGIL_COMPENSATION_WEBHOOKS: 'acme=ftp://x' })).toBe('env VIGIL_COMPENSATION_WEBHOOKS: "ftp://x" (vendor acme) must use http: or https:');
    expect(refusedConfig({ VIGIL_ALERTMANAGER_URLS: 'am:9093' })).toMatch(/^env VIGIL_ALERTMANAGER_URLS: "am:9093" must use http: or https:/);
  });
});
