import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig, SETTINGS } from '../../src/config/config.ts';
import { ConfigError } from '../../src/errors/vigil-error.ts';
import { hostileString } from './arbitraries.ts';
import { cases, check, FUZZ_TIMEOUT } from './fuzz-support.ts';

/**
 * The configuration loader on random environment values and config files: loadConfig either returns a
 * frozen Config or throws a ConfigError naming the source of the bad value (`env NAME` or the file),
 * never another error, and never echoes a secret it refused.
 */
const NAMES = [...Object.values(SETTINGS).map((s) => s.env as string), ...Object.values(SETTINGS).filter((s) => 'secret' in s).map((s) => `${s.env}_FILE`)];
const dir = mkdtempSync(join(tmpdir(), 'vigil-config-fuzz-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const value: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom('', ' ', '0', '-1', '1', '65536', '65535', '99999999999999999999', '1e3', '0x10', ' 8088', '8088 ', 'true', 'false', 'yes', 'maybe', 'debug', 'DEBUG',
    'redis://127.0.0.1:6379', 'rediss://u:p@h:1', 'redis://', 'http://', 'smtp://x', 'ftp://x', 'not a url', 'a:1,b:2', 'host', 'host:port', ':1', 'h:99999', '127.0.0.1:9092,', ',',
    'redis://:pw-Q9x7@127.0.0.1:6379', 'http://vigil:pw-K3z1@h:1', 'rediss://u:pw-M2c8@', '/nonexistent/pw-file', '/etc/hostname', '%', '${HOME}', '../../etc/passwd', '\u0000', 'x'.repeat(10_000)),
  hostileString(20),
  fc.integer().map(String),
);

function loadsOrRefuses(env: NodeJS.ProcessEnv): void {
  let config;
  try {
    config = loadConfig(env);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw new Error(`loadConfig threw ${(e as Error)?.name}: ${(e as Error)?.message}`, { cause: e });
    expect(e.message).toMatch(/^(env [A-Z_]+|config file |.+: [a-zA-Z.]+)/);
    expect(e.message).not.toMatch(/\n\s+at /);
    // a password in a refused URL is not repeated in the message
    for (const v of Object.values(env)) {
      const pw = /:\/\/[^:/@\s]*:([^@/\s]{3,})@/.exec(v ?? '')?.[1];
      if (pw) expect(e.message).not.toContain(pw);
    }
    return;
  }
  expect(Object.isFrozen(config)).toBe(true);
  expect(Object.isFrozen(config.kafka)).toBe(true);
  expect(config.kafka.brokers.length).toBeGreaterThan(0);
  expect(Number.isInteger(config.http.port) && config.http.port >= 0 && config.http.port <= 65535).toBe(true);
}

describe('config loader on random values: a frozen config, or a ConfigError naming the source', () => {
  it('environment values', () => {
    check('config: env values', fc.property(fc.dictionary(fc.constantFrom(...NAMES), value, { maxKeys: 6 }), (env) => {
      loadsOrRefuses(env);
      // a refused value names the variable it came from
      try {
        loadConfig(env);
      } catch (e) {
        const named = Object.keys(env).some((k) => (e as Error).message.includes(k));
        expect(named, `"${(e as Error).message}" names one of ${Object.keys(env).join(', ')}`).toBe(true);
      }
    }), cases(400, 2000));
  }, FUZZ_TIMEOUT);

  it('config files (VIGIL_CONFIG): random YAML, unknown keys, wrong shapes', () => {
    let n = 0;
    const doc = fc.oneof(
      fc.dictionary(fc.constantFrom(...Object.keys(SETTINGS), 'kafka', 'nope', '__proto__'), fc.oneof(value, fc.jsonValue({ maxDepth: 2 })), { maxKeys: 4 }).map((o) => JSON.stringify(o)),
      fc.string({ unit: 'binary', maxLength: 200 }),
      fc.constantFrom('kafka:\n  brokers: [a:1, b:2]\n', 'kafka: 3\n', '- a\n- b\n', 'a: &a [*a]\n', ': :\n', '{', 'redis:\n  url: "redis://:pw@h:1"\n  nope: 1\n'),
    );
    check('config: files', fc.property(doc, (text) => {
      const file = join(dir, `c${n++}.yaml`);
      writeFileSync(file, text);
      loadsOrRefuses({ VIGIL_CONFIG: file });
    }), cases(200, 1000));
  }, FUZZ_TIMEOUT);
});
