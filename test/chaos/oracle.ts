import type { AgentEvent } from '../../processors/core/events.ts';
import type { Finding } from '../../processors/core/finding.ts';
import { validateEvent } from '../../processors/core/validate-event.ts';
import { ReplayEngine } from '../../processors/engine/replay-engine.ts';
import { ALL_DETECTORS } from '../../processors/registry.ts';
import type { MailMessage } from '../../scripts/stack/mailbox.ts';
import { policySectionValidators, recipientGroups } from '../../src/app/policy-sections.ts';
import { checkCompensationPolicy } from '../../src/compensation/compensation-policy.ts';
import { planCompensation } from '../../src/compensation/plan-compensation.ts';
import type { Config } from '../../src/config/config.ts';
import { decodeCommand } from '../../src/kafka/compensation-codec.ts';
import { createRegistryClient, registryConnection } from '../../src/kafka/schema-registry.ts';
import { incidentIdOf } from '../../src/notify/incident.ts';
import { checkNotificationPolicy, notifies } from '../../src/notify/notification-policy.ts';
import { loadPolicyFile } from '../../src/policy/load-policy.ts';
import { testKafka } from '../helpers/kafka-helpers.ts';
import { waitFor } from '../helpers/wait.ts';

/**
 * The chaos suite's oracle. What must come out is computed without the monitor: the same events, in the
 * order they were produced, through the pure engine of `vigil replay` with the same policy (stopped
 * where the live watermark stops: no end-of-input settle); findingIds are deterministic, so the live
 * monitor must publish exactly these. From them, by the policy's pure rules: the compensation commands
 * (one per compensable finding) and the incidents that must each get an e-mail.
 */
export interface Expected {
  findings: Finding[];
  /** findingId → the command's idempotency key, for findings that ask for a compensation. */
  commands: Map<string, string>;
  /** incident id → `kind scope`, for incidents that notify. */
  incidents: Map<string, string>;
}

export function expectedOutcome(events: readonly AgentEvent[], policyPath: string, config: Config): Expected {
  const policy = loadPolicyFile(policyPath, { detectors: ALL_DETECTORS, env: config.env, sectionValidators: policySectionValidators(recipientGroups(config)) });
  const findings: Finding[] = [];
  const engine = new ReplayEngine({ detectors: ALL_DETECTORS, rules: policy.rules, onFinding: (f) => findings.push(f) });
  for (const e of events) engine.push(validateEvent(structuredClone(e) as unknown as Record<string, unknown>));
  const compensations = checkCompensationPolicy(policy.sections.compensations).policy;
  const notifications = checkNotificationPolicy(policy.sections.notifications).policy;
  const commands = new Map<string, string>();
  const incidents = new Map<string, string>();
  for (const f of findings) {
    const { plan } = planCompensation(f, compensations);
    if (plan && !plan.shadow) commands.set(f.findingId, plan.idempotencyKey);
    if (notifies(f, notifications)) incidents.set(incidentIdOf(f.kind, f.scope), `${f.kind} ${f.scope.type}:${f.scope.id}`);
  }
  return { findings, commands, incidents };
}

/** An anomaly's identity apart from its id: kind, scope and evidence. */
export const anomalyOf = (f: Pick<Finding, 'kind' | 'scope' | 'eventIds'>): string => `${f.kind} ${f.scope.type}:${f.scope.id} [${[...f.eventIds].sort().join(',')}]`;

/**
 * Every message of a topic from its beginning, as consumers downstream read it (read_committed),
 * decoded, once at least `min` arrived and nothing new came for `quietMs`; after `timeoutMs`, what
 * arrived by then once quiet (fewer than `min`: the oracle reports the missing ones).
 */
export async function readWholeTopic<T>(config: Config, topic: string, decode: (v: Buffer) => Promise<T>, min: number, opts: { quietMs?: number; timeoutMs?: number } = {}): Promise<T[]> {
  const consumer = testKafka(config).consumer({ groupId: `chaos-reader-${Math.random().toString(36).slice(2)}` });
  const got: T[] = [];
  const undecodable: string[] = [];
  let lastAt = Date.now();
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message, partition }) => {
        try {
          got.push(await decode(message.value!));
        } catch (e) {
          undecodable.push(`${partition}/${message.offset}: ${(e as Error).message}`);
        }
        lastAt = Date.now();
      },
    });
    const giveUpAt = Date.now() + (opts.timeoutMs ?? 180_000);
    await waitFor(() => (got.length >= min || Date.now() > giveUpAt) && Date.now() - lastAt >= (opts.quietMs ?? 5000), { timeoutMs: (opts.timeoutMs ?? 180_000) + 60_000, intervalMs: 200, description: `${min} messages on ${topic}` }).catch(async (e) => {
      const admin = testKafka(config).admin();
      await admin.connect();
      const offsets = await admin.fetchTopicOffsets(topic).catch((x: Error) => x.message);
      await admin.disconnect();
      throw new Error(`${(e as Error).message}: read ${got.length}, ${undecodable.length} undecodable (${undecodable.slice(0, 3).join('; ')}); topic offsets ${JSON.stringify(offsets)}`);
    });
    if (undecodable.length) throw new Error(`${undecodable.length} messages on ${topic} could not be decoded: ${undecodable.slice(0, 3).join('; ')}`);
  } finally {
    await consumer.disconnect();
  }
  return got;
}

/** Decoders of the monitor's outputs (Avro through the registry, or JSON). */
export function decoders(config: Config): { finding(v: Buffer): Promise<Finding>; command(v: Buffer): Promise<{ findingId: string; commandId: string; attempt: number; idempotencyKey: string }> } {
  const conn = registryConnection(config);
  const registry = conn ? createRegistryClient(conn) : undefined;
  return {
    finding: async (v) => (v[0] === 0 && registry ? await registry.decode(v) : JSON.parse(v.toString())) as Finding,
    command: (v) => decodeCommand(v, registry),
  };
}

/** What the monitor made, against what it had to make. */
export interface Verdict {
  findings: { expected: number; made: number; messages: number; duplicatedById: string[]; duplicatedByAnomaly: string[]; missing: string[]; unexpected: string[] };
  commands: { expected: number; made: number; duplicated: string[]; missing: string[]; unexpected: string[] };
  emails: { expectedIncidents: number; messages: number; distinct: number; duplicatedMessageIds: string[]; incidentsWithoutOpenedMail: string[]; byType: Record<string, number> };
}

export function judge(expected: Expected, findings: readonly Finding[], commands: readonly { findingId: string; commandId: string }[], mails: readonly MailMessage[]): Verdict {
  const count = <T>(xs: readonly T[], key: (x: T) => string) => {
    const m = new Map<string, number>();
    for (const x of xs) m.set(key(x), (m.get(key(x)) ?? 0) + 1);
    return m;
  };
  const twice = (m: Map<string, number>) => [...m].filter(([, n]) => n > 1).map(([k, n]) => `${k} ×${n}`);
  const byId = count(findings, (f) => f.findingId);
  const expectedIds = new Set(expected.findings.map((f) => f.findingId));
  const describe = (f: Finding) => `${f.findingId} ${f.kind} ${f.scope.type}:${f.scope.id} at ${f.detectedAt}`;
  // an anomaly found twice under two ids is a duplicate too: count anomalies over distinct ids
  const distinctFindings = [...new Map(findings.map((f) => [f.findingId, f])).values()];
  const anomalyIds = count(distinctFindings, anomalyOf);
  const cmdById = count(commands, (c) => c.commandId);
  const cmdByFinding = count(commands, (c) => c.findingId);
  const mailIds = count(mails, (m) => m.messageId ?? m.headers['x-vigil-job'] ?? m.file);
  const openedFor = new Set(mails.filter((m) => (m.headers['x-vigil-job'] ?? '').includes('.opened')).map((m) => m.headers['x-vigil-incident'] ?? ''));
  const byType: Record<string, number> = {};
  for (const m of mails) {
    const type = /\.(opened|reminder|resolved)/.exec(m.headers['x-vigil-job'] ?? '')?.[1] ?? 'other';
    byType[type] = (byType[type] ?? 0) + 1;
  }
  return {
    findings: {
      expected: expectedIds.size,
      made: byId.size,
      messages: findings.length,
      duplicatedById: twice(byId),
      duplicatedByAnomaly: twice(anomalyIds),
      missing: expected.findings.filter((f) => !byId.has(f.findingId)).map(describe),
      unexpected: distinctFindings.filter((f) => !expectedIds.has(f.findingId)).map(describe),
    },
    commands: {
      expected: expected.commands.size,
      made: cmdById.size,
      duplicated: [...twice(cmdById), ...twice(cmdByFinding).map((s) => `finding ${s}`)],
      missing: [...expected.commands.keys()].filter((id) => !cmdByFinding.has(id)),
      unexpected: [...cmdByFinding.keys()].filter((id) => !expected.commands.has(id)),
    },
    emails: {
      expectedIncidents: expected.incidents.size,
      messages: mails.length,
      distinct: mailIds.size,
      duplicatedMessageIds: twice(mailIds),
      incidentsWithoutOpenedMail: [...expected.incidents].filter(([id]) => !openedFor.has(id)).map(([id, what]) => `${id} (${what})`),
      byType,
    },
  };
}
