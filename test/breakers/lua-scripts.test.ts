import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadScripts } from '../../src/redis/scripts.ts';

const DIR = new URL('../../packages/breaker-client/lua/src/', import.meta.url);
const BREAKER_SCRIPTS = ['tripBreaker-2', 'takePermit-1', 'reportTrial-1', 'forceOpenBreaker-1', 'forceCloseBreaker-1', 'resetBreaker-1'];

describe('breaker Lua scripts (files)', () => {
  const text = (name: string) => readFileSync(new URL(`${name}.lua`, DIR), 'utf8');

  it('exist and are registered under versioned names', () => {
    const files = readdirSync(DIR).map((f) => f.replace(/\.lua$/, ''));
    for (const s of BREAKER_SCRIPTS) expect(files).toContain(s);
    const registered = new Map(loadScripts().map((s) => [s.name, s]));
    for (const s of BREAKER_SCRIPTS) {
      const [name, keys] = s.split('-');
      expect(registered.get(name!)).toMatchObject({ command: `vigil_${name}_v1`, numberOfKeys: Number(keys) });
    }
  });

  it('document KEYS, ARGV and return codes in their header', () => {
    for (const s of BREAKER_SCRIPTS) {
      const header = text(s).split('\n-- ── shared prologue')[0]!;
      expect(header, s).toMatch(/^-- KEYS$/m);
      expect(header, s).toMatch(/^-- ARGV$/m);
      expect(header, s).toMatch(/^-- Returns$/m);
      expect(header, s).toContain('-1 the stored hash has another protocol version');
      const keys = Number(s.split('-')[1]);
      for (let k = 1; k <= keys; k++) expect(header, s).toContain(`KEYS[${k}]`);
    }
  });

  it('share one identical prologue (state loading, lazy expiry, backoff, result encoding)', () => {
    const prologue = (s: string) => {
      const t = text(s);
      return t.slice(t.indexOf('-- ── shared prologue'), t.indexOf('-- ── end of shared prologue'));
    };
    const first = prologue(BREAKER_SCRIPTS[0]!);
    expect(first.length).toBeGreaterThan(1000);
    for (const s of BREAKER_SCRIPTS) expect(prologue(s), s).toBe(first);
  });
});
