import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { breakerScripts, expandIncludes, loadLuaScripts } from '../../src/lua.ts';

const dir = mkdtempSync(join(tmpdir(), 'vigil-lua-'));
const write = (rel: string, text: string) => {
  mkdirSync(dirname(join(dir, rel)), { recursive: true });
  writeFileSync(join(dir, rel), text);
  return join(dir, rel);
};
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('Lua includes (--- @include "<file>")', () => {
  it('expands includes in place, relative to the including file, with or without .lua', () => {
    write('inc/a.lua', 'local a = 1');
    write('inc/b.lua', '--- @include "a"\nlocal b = a + 1');
    const f = write('doIt-1.lua', '-- header\n--- @include "inc/b.lua"\nreturn b');
    const out = expandIncludes(f);
    expect(out.replace(/^-- .*\n/gm, '')).toBe('local a = 1\nlocal b = a + 1\nreturn b');
    expect(out.indexOf('local a = 1')).toBeLessThan(out.indexOf('local b'));
  });

  it('includes each file once per script, however many times it is named', () => {
    write('inc/c.lua', 'local c = 3');
    write('inc/d.lua', '--- @include "c"\nlocal d = c');
    write('inc/e.lua', '--- @include "c"\nlocal e = c');
    const out = expandIncludes(write('twice-1.lua', '--- @include "inc/d"\n--- @include "inc/e"\n--- @include "inc/c"\nreturn d + e'));
    expect(out.match(/local c = 3/g)).toHaveLength(1);
    expect(out).toContain('local d = c');
    expect(out).toContain('local e = c');
  });

  it('refuses a missing file, naming the include, the including file and its line', () => {
    const f = write('broken-1.lua', '-- x\n--- @include "inc/nope"\nreturn 1');
    expect(() => expandIncludes(f)).toThrow(/Lua include "inc\/nope" at broken-1\.lua line 2 not found: .*inc\/nope\.lua/);
    write('inc/deep.lua', 'local z = 0\n--- @include "gone"');
    expect(() => expandIncludes(write('deeper-1.lua', '--- @include "inc/deep"'))).toThrow(/Lua include "gone" at inc\/deep\.lua line 2 not found/);
  });

  it('refuses an include cycle, naming it', () => {
    write('cyc/x.lua', '--- @include "y"');
    write('cyc/y.lua', '--- @include "x"');
    expect(() => expandIncludes(write('loop-1.lua', '--- @include "cyc/x"'))).toThrow(/Lua include cycle at cyc\/y\.lua line 1: loop-1\.lua -> cyc\/x\.lua -> cyc\/y\.lua -> cyc\/x\.lua/);
  });

  it('loads the breaker scripts with no include left, each naming its keys in the file name', () => {
    const scripts = breakerScripts();
    expect(scripts.map((s) => `${s.name}-${s.numberOfKeys}`).sort()).toEqual(
      ['forceCloseBreaker-2', 'forceOpenBreaker-2', 'reportTrial-1', 'resetBreaker-2', 'takePermit-1', 'tripBreaker-2'],
    );
    for (const s of scripts) {
      expect(s.lua, s.name).not.toMatch(/^--- @include/m);
      expect(s.lua, s.name).toContain('local function finish(');
      expect(s.lua.match(/^local raw = redis\.call\('HGETALL', stateKey\)$/gm), s.name).toHaveLength(1);
    }
  });

  it('refuses a script whose name does not say its number of keys', () => {
    const d = mkdtempSync(join(dir, 'names-'));
    writeFileSync(join(d, 'doSomething.lua'), 'return 1');
    expect(() => loadLuaScripts(d)).toThrow(/must be named verbNoun-<numberOfKeys>\.lua/);
  });
});
