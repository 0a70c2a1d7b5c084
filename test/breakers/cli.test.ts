import { PassThrough, Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { breakersCommand, parseTtl } from '../../src/cli/breakers.ts';
import type { CommandIo } from '../../src/cli/io.ts';
import { loadConfig } from '../../src/config/config.ts';
import { createTopics } from '../helpers/kafka-helpers.ts';
import { testEnv } from '../helpers/test-config.ts';
import { connectRedis, type RedisClient } from '../../src/redis/connection.ts';
import { BreakerStore } from '../../src/breakers/breaker-store.ts';
import { freePort } from '../helpers/redis-server.ts';
import { cleanup, sampleReason, TEST_REDIS_URL, uniqueKeys } from './helpers.ts';

function io(): CommandIo & { out: () => string; err: () => string } {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let o = '', e = '';
  stdout.on('data', (d) => (o += d));
  stderr.on('data', (d) => (e += d));
  return { stdout, stderr, stdin: Readable.from([]), env: {}, out: () => o, err: () => e };
}

describe('vigil breakers (CLI)', () => {
  let redis: RedisClient;
  const keys = uniqueKeys('cli');
  // The stack's Kafka and registry (topics of its own): overrides are published to the audit topic.
  const config = loadConfig(testEnv({ REDIS_URL: TEST_REDIS_URL, VIGIL_REDIS_PREFIX: keys.prefix }));
  const run = async (...argv: string[]) => {
    const x = io();
    const code = await breakersCommand(argv, x, config, { redis });
    return { code, out: x.out(), err: x.err() };
  };
  beforeAll(async () => {
    await createTopics(config);
    redis = connectRedis({ url: TEST_REDIS_URL, connectionName: 'test-breakers-cli' });
    await new BreakerStore({ redis, keys }).trip('vendor', 'acme-air', {
      findingId: 'f_cli', reason: sampleReason('f_cli'), settings: { baseMs: 600_000, capMs: 600_000, jitter: 0, trials: 1, trialTimeoutMs: 1000 },
    });
  });
  afterAll(async () => {
    await cleanup(redis, keys);
    await redis.quit();
  });

  it('prints help for the command and each subcommand', async () => {
    expect(await run('--help')).toMatchObject({ code: 0, out: expect.stringContaining('vigil breakers <list|show|open|close|reset|reindex>') });
    for (const sub of ['list', 'show', 'open', 'close', 'reset', 'reindex']) {
      const r = await run(sub, '--help');
      expect(r.code).toBe(0);
      expect(r.out).toContain(`vigil breakers ${sub}`);
    }
    expect((await run()).code).toBe(2);
  });

  it('lists and shows breakers, with why they opened', async () => {
    const l = await run('list');
    expect(l.code).toBe(0);
    expect(l.out).toMatch(/SCOPE\s+ID\s+STATE/);
    expect(l.out).toMatch(/vendor\s+acme-air\s+open\s+open/);
    expect(l.out).toContain('vendor_failure_rate 0.62/0.5');
    const j = JSON.parse((await run('list', '--scope', 'vendor', '--state', 'open', '--json')).out);
    expect(j.breakers).toHaveLength(1);
    expect((await run('list', '--state', 'forced_open')).out).toBe('no breakers stored (all closed)\n');
    const s = await run('show', 'vendor', 'acme-air');
    expect(s.code).toBe(0);
    expect(s.out).toContain('rule    vendor_failure_rate (vendor_failure_rate), policy p1');
    expect(s.out).toContain('counts  observed 0.62 vs threshold 0.5');
    expect(s.out).toContain('findings f_cli');
    const missing = await run('show', 'agent', 'nobody');
    expect(missing.code).toBe(1);
    expect(missing.err).toContain('no breaker agent nobody');
  });

  it('reindex adds breakers stored without an index entry (an older vigil), and takes no arguments', async () => {
    await redis.srem(keys.breakerIndex(), 'vendor:acme-air');
    expect((await run('list', '--scope', 'vendor')).out).toBe('no breakers stored (all closed)\n');
    expect(await run('reindex')).toMatchObject({ code: 0, out: 'indexed 1 breakers\n' });
    expect((await run('list', '--scope', 'vendor')).out).toMatch(/vendor\s+acme-air\s+open/);
    expect(await run('reindex', 'now')).toMatchObject({ code: 2, err: expect.stringContaining('reindex takes no arguments') });
  });

  it('opens, closes and resets with actor, reason and ttl', async () => {
    const o = await run('open', 'agent', 'a1', '--actor', 'alice', '--reason', 'incident 42', '--ttl', '15m');
    expect(o.code).toBe(0);
    expect(o.out).toContain('agent a1: forced_open');
    expect(o.out).toContain('by      alice');
    expect(o.out).toMatch(/transition tr_[0-9a-f]{32}: closed -> forced_open \(force_open\)/);
    expect(o.out).toContain(`audited: 1 record on ${config.kafka.topics.breakerTransitions}`);
    const c = await run('close', 'agent', 'a1', '--actor', 'bob', '--reason', 'false positive', '--ttl', '60');
    expect(c.out).toContain('agent a1: forced_closed');
    const r = await run('reset', 'agent', 'a1', '--actor', 'bob', '--reason', 'done');
    expect(r.code).toBe(0);
    expect(r.out).toContain('forced_closed -> closed (reset)');
    const none = await run('reset', 'agent', 'never-seen', '--actor', 'bob', '--reason', 'done');
    expect(none).toMatchObject({ code: 1, err: expect.stringContaining('no breaker agent never-seen to reset') });
  });

  const bad: [string[], string][] = [
    [['explode'], 'unknown subcommand "explode"'],
    [['list', 'extra'], 'list takes no arguments'],
    [['list', '--scope', 'tenant'], '--scope must be one of'],
    [['list', '--state', 'ajar'], '--state must be one of'],
    [['list', '--actor', 'x'], '--actor does not apply to list'],
    [['list', '--colour'], "Unknown option '--colour'"],
    [['show', 'vendor'], 'show needs SCOPE and ID (got 1 argument)'],
    [['show', 'tenant', 't1'], 'scope must be one of'],
    [['show', 'vendor', 'a{b}'], 'vendor id must be'],
    [['open', 'agent', 'a1', '--reason', 'r', '--ttl', '1m'], '--actor is required'],
    [['open', 'agent', 'a1', '--actor', 'a', '--ttl', '1m'], '--reason is required'],
    [['open', 'agent', 'a1', '--actor', 'a', '--reason', 'r'], '--ttl is required'],
    [['close', 'agent', 'a1', '--actor', 'a', '--reason', 'r', '--ttl', '5y'], '--ttl must be seconds'],
    [['close', 'agent', 'a1', '--actor', 'a', '--reason', 'r', '--ttl', '0'], '--ttl must be seconds'],
    [['open', 'agent', 'a1', '--actor', ' ', '--reason', 'r', '--ttl', '1m'], '--actor is required'],
    [['reset', 'agent', 'a1', '--actor', 'a', '--reason', 'r', '--ttl', '1m'], '--ttl does not apply to reset'],
    [['open', 'global', 'everything', '--actor', 'a', '--reason', 'r', '--ttl', '1m'], 'global breaker\'s id is "all"'],
  ];
  for (const [argv, msg] of bad) {
    it(`exits 2 for ${argv.join(' ')}`, async () => {
      const r = await run(...argv);
      expect(r.code).toBe(2);
      expect(r.err).toContain(msg);
    });
  }

  it('parses TTLs', () => {
    expect([parseTtl('90'), parseTtl('15m'), parseTtl('2h'), parseTtl('1d'), parseTtl('30d')]).toEqual([90, 900, 7200, 86_400, 2_592_000]);
    expect(() => parseTtl('31d')).toThrow(/--ttl/);
  });

  it('exits 1 naming Redis when it is unreachable', async () => {
    const port = await freePort();
    const x = io();
    const code = await breakersCommand(['list'], x, loadConfig({ REDIS_URL: `redis://127.0.0.1:${port}` }));
    expect(code).toBe(1);
    expect(x.err()).toContain(`Redis at redis://127.0.0.1:${port} is unreachable`);
  });
});
