import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMonitor, type Monitor } from '../../src/app/monitor.ts';
import { detectionHandlerFactory } from '../../src/app/detection-wiring.ts';
import { main } from '../../src/cli/main.ts';
import { createBreakerClient } from '@vigil/breaker-client';
import { loadConfig } from '../../src/config/config.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { VIGIL_REDIS_COMMANDS, vigilAclRules } from '../../src/redis/acl.ts';
import { RedisAuthError } from '../../src/redis/connection.ts';
import { freePorts, removeDir, spawnRedis } from '../helpers/redis-server.ts';
import { makeTestCerts } from '../helpers/test-certs.ts';
import { testEnv } from '../helpers/test-config.ts';
import { waitFor } from '../helpers/wait.ts';

/**
 * vigil under a Redis ACL user limited to its key prefix and to the commands in src/redis/acl.ts, on a
 * redis-server of the test's own (the default user switched off, so nothing runs unauthenticated), over
 * TLS (rediss://, the test's own CA): the monitor with every detector and the breakers, the HTTP API's
 * reads and overrides, the upstream breaker client and `vigil breakers` all work; Redis denies nothing
 * they do (ACL LOG stays empty) and everything else; a wrong password is refused at start, clearly;
 * no password reaches a log line.
 */
const PASSWORD = 'acl-pw-4f2a9c1e7d';
const ADMIN_PASSWORD = 'admin-pw-77e1';

describe('vigil as a Redis ACL user (TLS), limited to its prefix and commands', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-acl-'));
  const certs = makeTestCerts(dir);
  let redis: ChildProcess;
  let admin: Redis;
  let tlsPort: number;
  let env: NodeJS.ProcessEnv;
  let monitor: Monitor;
  const lines: string[] = [];
  const used = new Set<string>();

  beforeAll(async () => {
    const [port, tls] = await freePorts(2);
    tlsPort = tls;
    redis = await spawnRedis(port, dir, ['--tls-port', String(tlsPort), '--tls-cert-file', certs.cert, '--tls-key-file', certs.key, '--tls-ca-cert-file', certs.ca, '--tls-auth-clients', 'no']);
    const setup = new Redis(port);
    await setup.call('ACL', 'SETUSER', 'admin', 'on', `>${ADMIN_PASSWORD}`, '~*', '&*', '+@all');
    env = testEnv({
      REDIS_URL: `rediss://127.0.0.1:${tlsPort}`,
      REDIS_TLS_CA_FILE: certs.ca,
      REDIS_USERNAME: 'vigil',
      REDIS_PASSWORD_FILE: join(dir, 'redis-password'),
      VIGIL_ADMIN_TOKEN: 'admin-token-0123456789abcdef',
      VIGIL_LOG_LEVEL: 'debug',
      // short, so that the audit relay prunes the overrides' pending set within the test (XLEN, its script)
      VIGIL_ADMIN_WRITE_DEADLINE_MS: '1000',
    });
    writeFileSync(join(dir, 'redis-password'), `${PASSWORD}\n`);
    const rules = process.env.VIGIL_ACL_DISCOVER ? ['reset', 'on', `>${PASSWORD}`, '~*', '&*', '+@all'] : vigilAclRules(PASSWORD, env.VIGIL_REDIS_PREFIX!);
    await setup.call('ACL', 'SETUSER', 'vigil', ...rules);
    await setup.call('ACL', 'SETUSER', 'default', 'off');
    setup.disconnect();
    admin = new Redis({ port, username: 'admin', password: ADMIN_PASSWORD });
    // every command vigil's connections send, Lua scripts' calls included
    const mon = await admin.duplicate().monitor();
    mon.on('monitor', (_t: string, args: string[]) => {
      const c = args[0]!.toLowerCase();
      used.add(c === 'client' ? `client|${String(args[1]).toLowerCase()}` : c);
    });
    const config = loadConfig(env);
    const logger = createLogger({ level: 'debug', write: (l) => lines.push(l) });
    monitor = await startMonitor(config, { logger, handler: detectionHandlerFactory(config, logger) });
  });
  afterAll(async () => {
    await monitor?.stop();
    admin?.disconnect();
    redis?.kill('SIGKILL');
    removeDir(dir);
  });

  it('runs everything: detection and breakers, the HTTP API, the breaker client, vigil breakers', async () => {
    const out = new PassThrough();
    const err = new PassThrough();
    let errText = '';
    err.on('data', (d) => (errText += d));
    expect(await main(['produce', 'samples/demo-traffic.jsonl'], { stdout: out, stderr: err, stdin: Readable.from([]), env })).toBe(0);
    const api = `http://127.0.0.1:${monitor.apiPort}`;
    const listed = await waitFor(async () => {
      const r = (await (await fetch(`${api}/v1/breakers`)).json()) as { breakers: { scope: string; id: string }[] };
      return r.breakers.length >= 3 ? r.breakers : undefined;
    }, { timeoutMs: 90_000, description: 'the demo traffic trips breakers' });
    expect(listed.map((b) => b.scope)).toContain('vendor');

    const h = { authorization: `Bearer ${env.VIGIL_ADMIN_TOKEN}`, 'content-type': 'application/json' };
    for (const [action, body] of [['force-open', { actor: 'ops', reason: 'drill', ttlSeconds: 60 }], ['force-close', { actor: 'ops', reason: 'drill', ttlSeconds: 60 }], ['reset', { actor: 'ops', reason: 'drill' }]] as const) {
      const r = await fetch(`${api}/v1/breakers/vendor/acl-drill/${action}`, { method: 'POST', headers: h, body: JSON.stringify(body) });
      expect(r.status, `${action}: ${await r.clone().text()}`).toBe(200);
    }
    expect((await fetch(`${api}/v1/breakers/check?vendor=acme-air&user=u_1`)).status).toBe(200);
    expect((await fetch(`${api}/readyz`)).status).toBe(200);
    const scrape = await (await fetch(`http://127.0.0.1:${monitor.metricsPort}/metrics`)).text();
    expect(scrape).toMatch(/vigil_breakers\b|vigil_breaker_/); // the breaker collector read Redis

    // the upstream client, with its credentials in the URL
    const client = createBreakerClient({ redisUrl: `redis://vigil:${PASSWORD}@127.0.0.1:${(admin.options.port)}`, keyPrefix: env.VIGIL_REDIS_PREFIX!, failMode: { default: 'closed' } });
    try {
      // it fails fast until connected (degraded): ask until it answers from Redis
      const answer = await waitFor(async () => {
        const a = await client.check({ vendor: 'acme-air', agent: 'travel-assistant', user: 'u_1', action: 'flight.book' });
        return a.degraded ? undefined : a;
      }, { timeoutMs: 10_000, description: 'the breaker client to answer from Redis' });
      expect(answer.allowed).toBe(false); // acme-air's breaker is open
      if (answer.permits.length) await client.reportOutcome(answer, true);
    } finally {
      await client.close();
    }

    const cli = async (...argv: string[]) => {
      let o = '';
      let e = '';
      const so = new PassThrough().on('data', (d) => (o += d));
      const se = new PassThrough().on('data', (d) => (e += d));
      const code = await main(['breakers', ...argv], { stdout: so, stderr: se, stdin: Readable.from([]), env });
      return { code, out: o, err: e };
    };
    expect((await cli('list')).code).toBe(0);
    expect((await cli('open', 'agent', 'acl-cli', '--actor', 'ops', '--reason', 'drill', '--ttl', '1m')).code).toBe(0);
    expect((await cli('show', 'agent', 'acl-cli')).out).toMatch(/forced_open/);
    expect((await cli('reset', 'agent', 'acl-cli', '--actor', 'ops', '--reason', 'drill')).code).toBe(0);
    expect((await cli('reindex')).code).toBe(0);
    // the monitor's audit relay finds the overrides' outboxes empty and prunes the pending set
    await waitFor(async () => (await admin.zcard(`${env.VIGIL_REDIS_PREFIX}:brk:audit-pending`)) === 0, { timeoutMs: 20_000, description: 'the audit relay to prune the pending set' });
    if (process.env.VIGIL_ACL_DISCOVER) process.stdout.write(`USED ${[...used].sort().join(' ')}\n`);

    // Redis denied nothing vigil did, and vigil used nothing outside its list
    expect(await admin.call('ACL', 'LOG')).toEqual([]);
    const allowed = new Set<string>(VIGIL_REDIS_COMMANDS);
    expect([...used].filter((c) => !allowed.has(c) && c !== 'monitor' && c !== 'acl')).toEqual([]);
    // the list is minimal: what the flow did not use is only the connection and transaction housekeeping
    // (SREM prunes index members whose breaker expired: not reached by this flow; nor are the outbox's
    // e-mails, queued after the group wait, acknowledged once sent, or taken over after a failure)
    for (const c of [...allowed].filter((x) => !used.has(x))) expect(['auth', 'quit', 'select', 'multi', 'exec', 'discard', 'unsubscribe', 'ping', 'srem', 'xadd', 'xack', 'xdel', 'xclaim']).toContain(c);
  }, 240_000);

  it('denies the ACL user every other key, channel and command', async () => {
    const v = new Redis({ port: (admin.options.port as number), username: 'vigil', password: PASSWORD, maxRetriesPerRequest: 0 });
    try {
      const denied = async (...args: string[]) => expect(v.call(args[0]!, ...args.slice(1))).rejects.toThrow(/NOPERM/);
      await denied('GET', 'other-app:secret');
      await denied('SET', 'vigil-other:x', '1');
      await denied('FLUSHALL');
      await denied('CONFIG', 'GET', '*');
      await denied('KEYS', '*');
      await denied('ACL', 'LIST');
      await denied('SHUTDOWN');
      await denied('CLIENT', 'LIST');
      await denied('SCRIPT', 'FLUSH');
      await denied('PUBLISH', 'other-app:events', 'x');
      await denied('EVAL', "return redis.call('GET', 'other-app:secret')", '1', 'other-app:secret');
      expect(await v.set(`${env.VIGIL_REDIS_PREFIX}:probe`, '1')).toBe('OK');
    } finally {
      v.disconnect();
    }
  });

  it('refuses a wrong password at start, clearly, without showing it; never logs the password', async () => {
    const bad = loadConfig({ ...env, REDIS_PASSWORD_FILE: undefined, REDIS_PASSWORD: 'wrong-pw-zz9' });
    const e = await startMonitor(bad, { logger: createLogger({ level: 'debug', write: (l) => lines.push(l) }), serveMetrics: false, serveApi: false }).then(
      async (m) => {
        await m.stop();
        return undefined;
      },
      (x: unknown) => x,
    );
    expect(e).toBeInstanceOf(RedisAuthError);
    expect((e as Error).message).toMatch(/refused vigil's credentials: WRONGPASS/);
    expect((e as Error).message).not.toContain('wrong-pw-zz9');
    const all = lines.join('\n');
    expect(all.length).toBeGreaterThan(0);
    expect(all).not.toContain(PASSWORD);
    expect(all).not.toContain('wrong-pw-zz9');
    expect(all).not.toContain(env.VIGIL_ADMIN_TOKEN!);
  });
});
