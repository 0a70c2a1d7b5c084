#!/usr/bin/env node
// Builds @vigil/breaker-client: TypeScript (src/) → ESM JavaScript + .d.ts (dist/).
//
//   node scripts/build.mjs             always build
//   node scripts/build.mjs --if-stale  build only when the inputs changed since the last build
//
// dist/.build-hash holds the sha256 of every input (sources, Lua, tsconfig, package.json, this file);
// a build whose hash differs from the inputs' is stale and is rebuilt, so the monitor (which imports the
// package like any user, through its exports) never runs a stale build. Plain JavaScript: runs on Node 20.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const dist = join(root, 'dist');
const stampFile = join(dist, '.build-hash');

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

export function isFresh() {
  return existsSync(join(dist, 'index.js')) && existsSync(stampFile) && readFileSync(stampFile, 'utf8').trim() === inputsHash();
}

export async function build() {
  const hash = inputsHash();
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
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const ifStale = process.argv.includes('--if-stale');
  if (ifStale && isFresh()) process.exit(0);
  const t0 = Date.now();
  try {
    await build();
  } catch (e) {
    process.stderr.write(`${e.message}\n`);
    process.exit(1);
  }
  process.stderr.write(`@vigil/breaker-client: built dist/ in ${Date.now() - t0} ms\n`);
}
