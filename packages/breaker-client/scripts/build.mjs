#!/usr/bin/env node
// Builds @vigil/breaker-client: TypeScript (src/) → ESM JavaScript + .d.ts (dist/), and the Lua artifact
// for clients in other languages: lua/dist/<script>.lua (includes expanded, exactly what Redis runs) and
// lua/dist/manifest.json (name, file, command, number of keys, SHA1 and source of each script, with the
// package, protocol and script versions), copied to the Python client (clients/python/vigil_breakers/).
//
//   node scripts/build.mjs             dist/ (tsc, unless current) and the Lua artifact (npm run build, prepack)
//   node scripts/build.mjs --if-stale  dist/ only, and only when the inputs changed since the last build
//                                      (scripts/ensure-deps.sh, vitest.config.ts, the vigil CLI)
//
// dist/.build-hash holds the sha256 of every input (sources, Lua, tsconfig, package.json, this file);
// a build whose hash differs from the inputs' is stale and is rebuilt, so the monitor (which imports the
// package like any user, through its exports) never runs a stale build. The Lua artifact is committed:
// --if-stale never rewrites it, so lua-artifact.test.ts can tell when it no longer matches lua/src (run
// `npm run build -w @vigil/breaker-client` then). Plain JavaScript: runs on Node 20.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const dist = join(root, 'dist');
const stampFile = join(dist, '.build-hash');
const luaDist = join(root, 'lua', 'dist');
/** The Python client's copy of the manifest (in the vigil repository only). */
const pythonCopy = join(root, '..', '..', 'clients', 'python', 'vigil_breakers', 'lua');

function* walk(dir) {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) yield* walk(p);
    else yield p;
  }
}

/** sha256 over the relative path and content of every input. */
export function inputsHash() {
  const h = createHash('sha256');
  const inputs = [
    ...walk(join(root, 'src')),
    ...walk(join(root, 'lua', 'src')),
    join(root, 'tsconfig.json'),
    join(root, 'package.json'),
    fileURLToPath(import.meta.url),
  ];
  for (const f of inputs) h.update(relative(root, f)).update('\0').update(readFileSync(f)).update('\0');
  return h.digest('hex');
}

/** The files of the Lua artifact (path → content), from the compiled loader in `distDir`. */
export async function luaArtifact(distDir = dist) {
  const { breakerScripts, SCRIPT_VERSION } = await import(pathToFileURL(join(distDir, 'lua.js')).href);
  const { PROTOCOL_VERSION } = await import(pathToFileURL(join(distDir, 'protocol.js')).href);
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const files = new Map();
  const scripts = breakerScripts().map((s) => {
    const file = `${s.name}-${s.numberOfKeys ?? 'n'}.lua`;
    files.set(join(luaDist, file), s.lua);
    const sha1 = createHash('sha1').update(s.lua).digest('hex');
    return { name: s.name, file, command: s.command, numberOfKeys: s.numberOfKeys, sha1, source: s.lua };
  });
  const manifest = {
    package: pkg.name,
    version: pkg.version,
    protocolVersion: PROTOCOL_VERSION,
    scriptVersion: SCRIPT_VERSION,
    generated: 'by packages/breaker-client/scripts/build.mjs from lua/src (includes expanded); do not edit',
    scripts,
  };
  const text = `${JSON.stringify(manifest, null, 2)}\n`;
  files.set(join(luaDist, 'manifest.json'), text);
  if (existsSync(join(pythonCopy, '..'))) files.set(join(pythonCopy, 'manifest.json'), text);
  return files;
}

/** Writes the files that differ (each atomically: tests may be reading them) and drops stray ones. */
export async function writeArtifact(distDir = dist) {
  const files = await luaArtifact(distDir);
  for (const [path, text] of files) {
    if (existsSync(path) && readFileSync(path, 'utf8') === text) continue;
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(`${path}.tmp-${process.pid}`, text);
    renameSync(`${path}.tmp-${process.pid}`, path);
  }
  for (const name of readdirSync(luaDist)) if (!files.has(join(luaDist, name))) rmSync(join(luaDist, name), { recursive: true, force: true });
}

/** dist/ was built from the current inputs. */
export async function isFresh() {
  return existsSync(join(dist, 'index.js')) && existsSync(stampFile) && readFileSync(stampFile, 'utf8').trim() === inputsHash();
}

/** Compiles dist/ unless it is current; with `artifact`, then writes the Lua artifact too. */
export async function build({ artifact = true } = {}) {
  const hash = inputsHash();
  if (await isFresh()) {
    if (artifact) await writeArtifact();
    return;
  }
  const tmp = join(root, `dist.tmp-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  try {
    execFileSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.json'), '--outDir', tmp], { stdio: 'inherit' });
  } catch {
    rmSync(tmp, { recursive: true, force: true });
    throw new Error('@vigil/breaker-client: tsc failed (see above)');
  }
  writeFileSync(join(tmp, '.build-hash'), `${hash}\n`);
  rmSync(dist, { recursive: true, force: true });
  renameSync(tmp, dist);
  if (artifact) await writeArtifact();
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const ifStale = process.argv.includes('--if-stale');
  if (ifStale && (await isFresh())) process.exit(0);
  const t0 = Date.now();
  try {
    await build({ artifact: !ifStale });
  } catch (e) {
    process.stderr.write(`${e.message}\n`);
    process.exit(1);
  }
  process.stderr.write(`@vigil/breaker-client: built dist/ in ${Date.now() - t0} ms\n`);
}
