import { parseArgs } from 'node:util';
import { BreakerStore } from '../breakers/breaker-store.ts';
import { isBreakerError } from '@vigil/breaker-client/protocol';
import { abandonedMessage, checkBreakerRef, checkListFilter, checkOperatorRequest, MAX_TTL_SECONDS, type OperatorAction } from '../breakers/operator-input.ts';
import { withTimeout } from '../errors/timeout.ts';
import type { OverrideResult } from '../breakers/breaker-store.ts';
import { connectAuditPublisher, type AuditPublisher } from '../kafka/audit-publisher.ts';
import type { BreakerTransition } from '../breakers/transition.ts';
import { createLogger, silentLogger } from '../observability/logger.ts';
import { breakerView, type BreakerView } from '../breakers/view.ts';
import type { BreakerScope, BreakerStateName } from '../breakers/state.ts';
import { loadConfig, type Config } from '../config/config.ts';
import { checkRedisCredentials, connectRedis, redisConnectionOf, type RedisClient } from '../redis/connection.ts';
import { KeyBuilder } from '../redis/keys.ts';
import { redact } from '../observability/redact.ts';
import type { CommandIo } from './io.ts';

const OVERRIDE_NOTES = `
The write is applied within VIGIL_ADMIN_WRITE_DEADLINE_MS (default 5000) or never: past it the command
exits 1 saying it was abandoned and NOT applied, and Redis refuses it should it arrive later.
The override is recorded on the Kafka audit topic (safety.breaker-transitions) with actor, reason and
until; if Kafka cannot be reached the record waits in Redis and a running monitor publishes it.
`;

const HELP: Record<string, string> = {
  main: `Usage: vigil breakers <list|show|open|close|reset|reindex> [options]

Circuit breakers in Redis (the same rules as the HTTP API).
  list                      list breakers          (--scope S, --state S, --json)
  show SCOPE ID             one breaker            (--json)
  open SCOPE ID             force open             --actor A --reason R --ttl T
  close SCOPE ID            force closed           --actor A --reason R --ttl T
  reset SCOPE ID            back to closed         --actor A --reason R
  reindex                   rebuild the list's index (once, after upgrading)

SCOPE is global (ID "all"), vendor, agent, user or action.
Run "vigil breakers <subcommand> --help" for details.
`,
  list: `Usage: vigil breakers list [--scope global|vendor|agent|user|action] [--state closed|open|half_open|forced_open|forced_closed] [--json]

Lists stored breakers (a breaker that never tripped nor was forced has no state: it is closed).
`,
  show: `Usage: vigil breakers show SCOPE ID [--json]

Shows one breaker: state, until when, why it opened (rule, counts, finding and trace ids) or who forced it.
`,
  open: `Usage: vigil breakers open SCOPE ID --actor WHO --reason WHY --ttl DURATION

Forces the breaker open until the TTL runs out (then it closes; it never turns half-open on its own).
DURATION: seconds, or a number with s, m, h or d (e.g. 90, 15m, 2h), at most 30d.
${OVERRIDE_NOTES}`,
  close: `Usage: vigil breakers close SCOPE ID --actor WHO --reason WHY --ttl DURATION

Forces the breaker closed (findings do not trip it) until the TTL runs out.
DURATION: seconds, or a number with s, m, h or d (e.g. 90, 15m, 2h), at most 30d.
${OVERRIDE_NOTES}`,
  reset: `Usage: vigil breakers reset SCOPE ID --actor WHO --reason WHY

Closes the breaker now and forgets its backoff.
${OVERRIDE_NOTES}`,
  reindex: `Usage: vigil breakers reindex

Listing reads an index of the stored breakers (<prefix>:brk:index), which vigil keeps as it trips and
forces them. Breakers stored by a vigil older than the index, or written by hand, are missing from it:
this scans the whole Redis once (every master of a cluster) and adds them.
`,
};

/** Thrown for a wrong command line: exit status 2. */
class BreakersUsage extends Error {}

/** Parses a TTL: whole seconds, or a number with s, m, h or d. */
export function parseTtl(text: string): number {
  const m = /^(\d+)([smhd]?)$/.exec(text.trim());
  const mult = { '': 1, s: 1, m: 60, h: 3600, d: 86_400 } as const;
  const secs = m ? Number(m[1]) * mult[m[2] as keyof typeof mult] : NaN;
  if (!Number.isInteger(secs) || secs < 1 || secs > MAX_TTL_SECONDS) {
    throw new BreakersUsage(`--ttl must be seconds or a number with s, m, h or d, from 1s to 30d (got ${JSON.stringify(text)})`);
  }
  return secs;
}

async function waitReady(redis: RedisClient, url: string, timeoutMs: number): Promise<void> {
  await checkRedisCredentials(redis, url, timeoutMs); // a refused password fails here, at once
  if ((redis.status as string) !== 'ready') throw new Error(`Redis at ${redact(url)} is unreachable (no connection within ${timeoutMs} ms)`);
}

const fmtTime = (iso: string | null) => iso ?? '-';

function why(v: BreakerView): string {
  if (v.actor) return `${v.actor}: ${v.note ?? ''}`;
  if (v.reason) {
    const counts = v.reason.observed !== null && v.reason.threshold !== null ? ` ${v.reason.observed}/${v.reason.threshold}` : '';
    return `${v.reason.ruleId}${counts}: ${v.reason.summary}`;
  }
  return '';
}

function table(views: BreakerView[]): string {
  const rows = [['SCOPE', 'ID', 'STATE', 'NOW', 'UNTIL', 'TRIPS', 'WHY'], ...views.map((v) => [v.scope, v.id, v.state, v.effectiveState, fmtTime(v.until), String(v.trips), why(v)])];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd()).join('\n') + '\n';
}

function detail(v: BreakerView): string {
  const lines = [
    `${v.scope} ${v.id}: ${v.state}${v.effectiveState !== v.state ? ` (now ${v.effectiveState})` : ''}`,
    `  since   ${fmtTime(v.since)}`,
    `  until   ${fmtTime(v.until)}`,
    `  trips   ${v.trips}`,
  ];
  if (v.actor) lines.push(`  by      ${v.actor}`, `  reason  ${v.note ?? ''}`);
  if (v.reason) {
    const r = v.reason;
    lines.push(`  rule    ${r.ruleId} (${r.kind}), policy ${r.policyVersion}`);
    if (r.observed !== null || r.threshold !== null) lines.push(`  counts  observed ${r.observed ?? '?'} vs threshold ${r.threshold ?? '?'}`);
    lines.push(`  why     ${r.summary}`, `  findings ${r.findingIds.join(', ')}`);
    if (r.traceIds.length) lines.push(`  traces  ${r.traceIds.join(', ')}`);
  }
  if (v.permits !== null) lines.push(`  permits ${v.permits} left`);
  return lines.join('\n') + '\n';
}

/**
 * `vigil breakers list|show|open|close|reset|reindex`: talks to Redis directly, with the configuration given
 * (default: loaded from io.env). `deps.redis` lets tests pass a client. Exit status: 0 done, 1 Redis or
 * not-found trouble, 2 a wrong command line.
 */
export async function breakersCommand(argv: string[], io: CommandIo, config?: Config, deps: { redis?: RedisClient } = {}): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === '--help' || sub === '-h' || sub === 'help') {
    io.stdout.write(HELP.main!);
    return sub === undefined ? 2 : 0;
  }
  if (!['list', 'show', 'open', 'close', 'reset', 'reindex'].includes(sub)) {
    io.stderr.write(`vigil breakers: unknown subcommand "${sub}"\n\n${HELP.main}`);
    return 2;
  }
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(sub, rest);
  } catch (e) {
    io.stderr.write(`vigil breakers ${sub}: ${(e as Error).message}\nRun "vigil breakers ${sub} --help" for usage.\n`);
    return 2;
  }
  if (parsed === 'help') {
    io.stdout.write(HELP[sub]!);
    return 0;
  }
  const cfg = config ?? loadConfig(io.env);
  const redis = deps.redis ?? connectRedis({ ...redisConnectionOf(cfg), connectionName: 'vigil-cli', failFast: true });
  redis.on('error', () => {});
  const keys = new KeyBuilder(cfg.redis.keyPrefix);
  let audit: Promise<AuditPublisher> | undefined;
  try {
    if (parsed.kind === 'op') {
      // Connecting to Kafka runs while the write does, so the record goes to the audit topic right after
      // it. Without Kafka the override is still applied: its record waits in the Redis outbox for a
      // monitor to relay it.
      const logger = cfg.logLevel === 'debug' ? createLogger({ level: 'debug', write: (l) => void io.stderr.write(l + '\n') }) : silentLogger;
      audit = connectAuditPublisher(cfg, logger, cfg.http.adminWriteDeadlineMs);
      audit.catch(() => {});
    }
    const publishTransition = audit ? async (t: BreakerTransition) => (await audit!).publish(t) : undefined;
    const store = new BreakerStore({ redis, keys, writeDeadlineMs: cfg.http.adminWriteDeadlineMs, ...(publishTransition ? { publishTransition } : {}) });
    await waitReady(redis, cfg.redis.url, Math.min(3000, cfg.http.adminWriteDeadlineMs));
    switch (parsed.kind) {
      case 'list': {
        const now = await store.now();
        const views = (await store.list(parsed.filter)).map((b) => breakerView(b, now));
        io.stdout.write(parsed.json ? JSON.stringify({ breakers: views }) + '\n' : views.length ? table(views) : 'no breakers stored (all closed)\n');
        return 0;
      }
      case 'reindex': {
        io.stdout.write(`indexed ${await store.reindex()} breakers\n`);
        return 0;
      }
      case 'show': {
        const b = await store.get(parsed.scope, parsed.id);
        if (!b) {
          io.stderr.write(`vigil breakers show: no breaker ${parsed.scope} ${parsed.id} (it has never tripped or been forced: it is closed)\n`);
          return 1;
        }
        const v = breakerView(b, await store.now());
        io.stdout.write(parsed.json ? JSON.stringify(v) + '\n' : detail(v));
        return 0;
      }
      case 'op': {
        const { scope, id, action, req } = parsed;
        let r: OverrideResult;
        try {
          r = action === 'reset'
            ? await store.reset(scope, id, req.actor, req.reason)
            : await store.force(scope, id, { mode: action === 'force-open' ? 'forced_open' : 'forced_closed', actor: req.actor, note: req.reason, ttlMs: req.ttlSeconds! * 1000 });
        } catch (e) {
          if (isBreakerError(e) && (e.code === 'write_abandoned' || e.code === 'deadline_passed')) {
            io.stderr.write(`vigil breakers ${sub}: ${abandonedMessage(action, scope, id, e)}\n`);
            return 1;
          }
          throw e;
        }
        // The write is done: a slow read-back only shortens the output.
        const b = await withTimeout(store.get(scope, id), cfg.http.adminWriteDeadlineMs, 'reading the breaker back').catch(() => undefined);
        if (b) io.stdout.write(detail(breakerView(b, r.transitions.at(-1)?.at ?? Date.now())));
        for (const t of r.transitions) io.stdout.write(`transition ${t.transitionId}: ${t.from} -> ${t.to} (${t.cause})\n`);
        const topic = cfg.kafka.topics.breakerTransitions;
        if (r.audit.pending === 0) io.stdout.write(`audited: ${r.audit.published} record${r.audit.published === 1 ? '' : 's'} on ${topic}\n`);
        else {
          io.stderr.write(`vigil breakers ${sub}: applied, but ${r.audit.pending} audit record${r.audit.pending === 1 ? ' is' : 's are'} not on ${topic} yet (${r.audit.error ?? 'no publisher'}): kept in Redis (${keys.breakerAudit(scope, id)}), a running monitor publishes ${r.audit.pending === 1 ? 'it' : 'them'}\n`);
        }
        return 0;
      }
    }
    return 2;
  } catch (e) {
    if (isBreakerError(e) && e.code === 'not_found') {
      io.stderr.write(`vigil breakers ${sub}: no breaker ${argv[1]} ${argv[2]} to reset (it is closed)\n`);
      return 1;
    }
    io.stderr.write(`vigil breakers ${sub}: ${(e as Error).message}\n`);
    return 1;
  } finally {
    if (!deps.redis) redis.disconnect();
    if (audit) await audit.then((a) => a.close()).catch(() => {});
  }
}

type Parsed =
  | { kind: 'list'; filter: { scope?: BreakerScope; state?: BreakerStateName }; json: boolean }
  | { kind: 'reindex' }
  | { kind: 'show'; scope: BreakerScope; id: string; json: boolean }
  | { kind: 'op'; scope: BreakerScope; id: string; action: OperatorAction; req: { actor: string; reason: string; ttlSeconds: number | undefined } };

function parse(sub: string, rest: string[]): Parsed | 'help' {
  const options = {
    help: { type: 'boolean', short: 'h' },
    json: { type: 'boolean' },
    scope: { type: 'string' },
    state: { type: 'string' },
    actor: { type: 'string' },
    reason: { type: 'string' },
    ttl: { type: 'string' },
  } as const;
  const allowed: Record<string, string[]> = {
    list: ['help', 'json', 'scope', 'state'],
    show: ['help', 'json'],
    open: ['help', 'actor', 'reason', 'ttl'],
    close: ['help', 'actor', 'reason', 'ttl'],
    reset: ['help', 'actor', 'reason'],
    reindex: ['help'],
  };
  const { values, positionals } = parseArgs({ args: rest, options, allowPositionals: true, strict: true });
  if (values.help) return 'help';
  for (const k of Object.keys(values)) if (!allowed[sub]!.includes(k)) throw new BreakersUsage(`--${k} does not apply to ${sub}`);
  if (sub === 'list') {
    if (positionals.length) throw new BreakersUsage(`list takes no arguments (got ${positionals.join(' ')})`);
    const f = checkListFilter(values.scope, values.state);
    if (!f.ok) throw new BreakersUsage(`--${f.error}`);
    return { kind: 'list', filter: f.value, json: values.json === true };
  }
  if (sub === 'reindex') {
    if (positionals.length) throw new BreakersUsage(`reindex takes no arguments (got ${positionals.join(' ')})`);
    return { kind: 'reindex' };
  }
  if (positionals.length !== 2) throw new BreakersUsage(`${sub} needs SCOPE and ID (got ${positionals.length} argument${positionals.length === 1 ? '' : 's'})`);
  const ref = checkBreakerRef(positionals[0], positionals[1]);
  if (!ref.ok) throw new BreakersUsage(ref.error);
  if (sub === 'show') return { kind: 'show', ...ref.value, json: values.json === true };
  const action: OperatorAction = sub === 'open' ? 'force-open' : sub === 'close' ? 'force-close' : 'reset';
  if (values.actor === undefined) throw new BreakersUsage('--actor is required: who does this');
  if (values.reason === undefined) throw new BreakersUsage('--reason is required: why');
  if (action !== 'reset' && values.ttl === undefined) throw new BreakersUsage('--ttl is required: how long the override holds (e.g. 15m)');
  const body: Record<string, unknown> = { actor: values.actor, reason: values.reason };
  if (action !== 'reset') body.ttlSeconds = parseTtl(values.ttl!);
  const req = checkOperatorRequest(action, body);
  if (!req.ok) throw new BreakersUsage(req.error.replace(/^(actor|reason) is required/, '--$1 is required'));
  return { kind: 'op', ...ref.value, action, req: req.value };
}
