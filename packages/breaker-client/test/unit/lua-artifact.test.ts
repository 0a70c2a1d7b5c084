import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { breakerScripts } from '../../src/lua.ts';

const PKG = fileURLToPath(new URL('../../', import.meta.url));
const PYTHON_COPY = fileURLToPath(new URL('../../../../clients/python/vigil_breakers/lua/manifest.json', import.meta.url));

interface Manifest {
  package: string;
  version: string;
  protocolVersion: number;
  scriptVersion: number;
  scripts: { name: string; file: string; command: string; numberOfKeys: number; sha1: string; source: string }[];
}

/**
 * The committed Lua artifact for other languages (lua/dist/*.lua and manifest.json, and the Python
 * client's copy) must be exactly what the sources in lua/src expand to. When this fails after a change
 * to lua/src, run `npm run build -w @vigil/breaker-client` and commit lua/dist/.
 */
describe('the Lua artifact (lua/dist)', () => {
  const manifest = JSON.parse(readFileSync(join(PKG, 'lua/dist/manifest.json'), 'utf8')) as Manifest;
  const hint = 'lua/dist is stale: run `npm run build -w @vigil/breaker-client` and commit it';

  it('holds every breaker script, expanded from lua/src, with its SHA1', () => {
    const pkg = JSON.parse(readFileSync(join(PKG, 'package.json'), 'utf8')) as { name: string; version: string };
    expect({ package: manifest.package, version: manifest.version, protocolVersion: manifest.protocolVersion, scriptVersion: manifest.scriptVersion }).toEqual({
      package: pkg.name, version: pkg.version, protocolVersion: 1, scriptVersion: 2,
    });
    const scripts = breakerScripts();
    expect(manifest.scripts.map((s) => s.name).sort(), hint).toEqual(scripts.map((s) => s.name).sort());
    for (const s of scripts) {
      const entry = manifest.scripts.find((m) => m.name === s.name)!;
      expect(entry.source, `${s.name}: ${hint}`).toBe(s.lua);
      expect(entry).toMatchObject({ file: `${s.name}-${s.numberOfKeys}.lua`, command: s.command, numberOfKeys: s.numberOfKeys });
      expect(entry.sha1).toBe(createHash('sha1').update(s.lua).digest('hex'));
      expect(readFileSync(join(PKG, 'lua/dist', entry.file), 'utf8'), `${entry.file}: ${hint}`).toBe(s.lua);
    }
    expect(readdirSync(join(PKG, 'lua/dist')).sort()).toEqual([...manifest.scripts.map((s) => s.file), 'manifest.json'].sort());
  });

  it('is what the build writes, and the Python client carries the same manifest', async () => {
    const build = (await import(pathToFileURL(join(PKG, 'scripts/build.mjs')).href)) as { luaArtifact(): Promise<Map<string, string>> };
    for (const [path, text] of await build.luaArtifact()) expect(existsSync(path) && readFileSync(path, 'utf8'), `${path}: ${hint}`).toBe(text);
    expect(readFileSync(PYTHON_COPY, 'utf8'), hint).toBe(readFileSync(join(PKG, 'lua/dist/manifest.json'), 'utf8'));
  });
});
