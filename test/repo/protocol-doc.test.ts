import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { breakerScripts } from '../../packages/breaker-client/src/lua.ts';

const DOC = readFileSync(new URL('../../docs/breaker-protocol.md', import.meta.url), 'utf8');

/** docs/breaker-protocol.md says what the scripts really answer: a foreign client is written from it. */
describe('the breaker protocol doc matches the scripts', () => {
  const scripts = breakerScripts();

  it('lists each negative return code with the scripts that return it', () => {
    const rows = [...DOC.matchAll(/^\| `(-\d)` \| ([^|]+) \|/gm)].map((m) => ({ code: Number(m[1]), from: m[2]!.trim() }));
    expect(rows.map((r) => r.code).sort((a, b) => a - b)).toEqual([-4, -3, -2, -1]);
    for (const s of scripts) {
      const codes = [...new Set([...s.lua.matchAll(/return (-\d)\b/g)].map((m) => Number(m[1])))].sort((a, b) => a - b);
      const documented = rows.filter((r) => r.from === 'every script' || r.from.includes(`\`${s.name}\``)).map((r) => r.code).sort((a, b) => a - b);
      expect(documented, s.name).toEqual(codes);
    }
  });

  it('names every outcome of the scripts a client runs (takePermit, reportTrial)', () => {
    for (const name of ['takePermit', 'reportTrial']) {
      const lua = scripts.find((s) => s.name === name)!.lua;
      const outcomes = [...new Set([...lua.matchAll(/return finish\('(\w+)'/g)].map((m) => m[1]!))];
      expect(outcomes.length, name).toBeGreaterThan(1);
      for (const o of outcomes) expect(DOC, `${name} outcome ${o}`).toContain(`\`${o}\``);
    }
  });

  it('points to the conformance vectors, the Lua artifact and both clients', () => {
    for (const link of ['breaker-protocol.vectors.json', 'packages/breaker-client/lua/dist/', '@vigil/breaker-client', 'clients/python']) expect(DOC).toContain(link);
  });
});
