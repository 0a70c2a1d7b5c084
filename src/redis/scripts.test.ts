import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { loadLuaScripts } from '@vigil/breaker-client/protocol';
import { loadScripts } from './scripts.ts';

const LUA_DIR = join(dirname(fileURLToPath(import.meta.url)), 'lua');
const tmp = mkdtempSync(join(tmpdir(), 'vigil-monitor-lua-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** The monitor's own scripts (src/redis/lua) share their parts through `--- @include` files in lua/includes. */
describe("the monitor's Lua scripts and their includes", () => {
  const own = loadScripts().filter((s) => s.file.startsWith(LUA_DIR));

  it('registers the scripts of src/redis/lua and none of its includes', () => {
    expect(own.length).toBeGreaterThan(10);
    expect(own.map((s) => s.name)).not.toContain('now');
    expect(own.every((s) => /\/lua\/[a-zA-Z]+-(\d+|n)\.lua$/.test(s.file))).toBe(true);
  });

  it('expands every include, each once: one clock per script that reads it, from ARGV[1] or Redis TIME', () => {
    for (const s of own) expect(s.lua, s.name).not.toMatch(/^--- @include/m);
    const clocked = own.filter((s) => /^local now$/m.test(s.lua)).map((s) => s.name).sort();
    expect(clocked).toEqual(['advanceSagas', 'noteFinding', 'openSaga', 'recordOutcome', 'settleInflight', 'tickIncident']);
    for (const s of own.filter((x) => clocked.includes(x.name))) {
      expect(s.lua.match(/^local now$/gm), s.name).toHaveLength(1);
      expect(s.lua.match(/^local fmt = /gm), s.name).toHaveLength(1);
      expect(s.lua.indexOf("if ARGV[1] ~= '' then now = tonumber(ARGV[1])"), s.name).toBeGreaterThan(0);
    }
  });

  it('refuses to load the directory when a script names an include that is not there', () => {
    const copy = join(tmp, 'lua');
    cpSync(LUA_DIR, copy, { recursive: true });
    writeFileSync(join(copy, 'tickIncident-4.lua'), '--- @include "includes/now"\n--- @include "includes/clock"\nreturn now\n');
    expect(() => loadLuaScripts(copy)).toThrow(/Lua include "includes\/clock" at tickIncident-4\.lua line 2 not found: .*includes\/clock\.lua/);
  });
});
