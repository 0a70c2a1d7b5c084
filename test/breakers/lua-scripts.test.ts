import { readdirSync, readFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { loadScripts } from '../../src/redis/scripts.ts';
import { stackEndpoints } from '../helpers/stack-env.ts';
import { randomName } from '../helpers/wait.ts';

const DIR = new URL('../../packages/breaker-client/lua/src/', import.meta.url);
const BREAKER_SCRIPTS = ['tripBreaker-2', 'takePermit-1', 'reportTrial-1', 'forceOpenBreaker-2', 'forceCloseBreaker-2', 'resetBreaker-2'];
const INCLUDE = /^--- @include "([^"]+)"$/gm;

describe('breaker Lua scripts (files)', () => {
  const text = (name: string) => readFileSync(new URL(`${name}.lua`, DIR), 'utf8');

  it('exist and are registered under versioned names', () => {
    const files = readdirSync(DIR).map((f) => f.replace(/\.lua$/, ''));
    for (const s of BREAKER_SCRIPTS) expect(files).toContain(s);
    const registered = new Map(loadScripts().map((s) => [s.name, s]));
    for (const s of BREAKER_SCRIPTS) {
      const [name, keys] = s.split('-');
      expect(registered.get(name!)).toMatchObject({ command: `vigil_${name}_v2`, numberOfKeys: Number(keys) });
    }
  });

  it('document KEYS, ARGV and return codes in their header', () => {
    for (const s of BREAKER_SCRIPTS) {
      const header = text(s).split('\n--- @include')[0]!;
      expect(header, s).toMatch(/^-- KEYS$/m);
      expect(header, s).toMatch(/^-- ARGV$/m);
      expect(header, s).toMatch(/^-- Returns$/m);
      expect(header, s).toContain('-1 the stored hash has another protocol version');
      const keys = Number(s.split('-')[1]);
      for (let k = 1; k <= keys; k++) expect(header, s).toContain(`KEYS[${k}]`);
    }
  });

  it('share the prologue through includes instead of copying it', () => {
    for (const s of BREAKER_SCRIPTS) {
      const t = text(s);
      expect([...t.matchAll(INCLUDE)].map((m) => m[1]), s).toEqual(expect.arrayContaining(['includes/finish']));
      expect(t, s).not.toContain("redis.call('HGETALL'");
      expect(t, s).not.toContain('local function move(');
      expect(t.split('\n').length, s).toBeLessThan(70);
    }
    const expanded = loadScripts().filter((s) => BREAKER_SCRIPTS.includes(`${s.name}-${s.numberOfKeys}`));
    for (const s of expanded) {
      for (const fn of ['clearStatus', 'move', 'normalize', 'finish']) expect(s.lua.match(new RegExp(`local function ${fn}\\(`, 'g')), `${s.name}: ${fn}`).toHaveLength(1);
    }
  });

  it('the artifact (lua/dist/manifest.json) loads into Redis under its SHA1 and runs with EVALSHA', async () => {
    const manifest = JSON.parse(readFileSync(new URL('../../packages/breaker-client/lua/dist/manifest.json', import.meta.url), 'utf8')) as {
      scripts: { name: string; sha1: string; source: string }[];
    };
    const redis = new Redis(stackEndpoints().redisUrl);
    try {
      for (const s of manifest.scripts) expect(await redis.script('LOAD', s.source), s.name).toBe(s.sha1);
      const take = manifest.scripts.find((s) => s.name === 'takePermit')!;
      const prefix = randomName('artifact');
      const ret = await redis.evalsha(take.sha1, 1, `${prefix}:brk:{vendor:acme-air}:state`, '', `${prefix}:brk:transitions`, 'vendor', 'acme-air');
      expect(JSON.parse(String(ret))).toMatchObject({ outcome: 'allowed', state: 'closed', transitions: [] });
    } finally {
      redis.disconnect();
    }
  });
});
