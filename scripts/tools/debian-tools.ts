import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { VigilError } from '../../src/errors/vigil-error.ts';

/**
 * Tools that tests and the demo need from Debian's packages (promtool, amtool, prometheus,
 * alertmanager, python3-redis…), fetched without a service manager and without root: `apt-get download`
 * the .deb, then `dpkg-deb -x` it into the cache (`${VIGIL_CACHE_DIR:-~/.cache/vigil}/debian/<package>`).
 * A folder is used only once its `.complete` marker exists (written last), so an interrupted fetch is
 * redone. When apt's package lists are missing (a fresh machine), `apt-get update` runs once (root only).
 *
 * Packages that must really be installed (chromium pulls dozens of libraries) go through
 * `ensureAptInstalled`, which needs root when the package is absent.
 */

/** A Debian tool could not be fetched or installed. Retrying may help (network), so it is retriable. */
export class DebianToolError extends VigilError {
  constructor(message: string, cause?: unknown) {
    super(message, { retriable: true, cause });
  }
}

export interface DebianToolOptions {
  /** Cache root; default `VIGIL_CACHE_DIR` or ~/.cache/vigil. */
  cacheDir?: string;
  /** Progress lines (default: stderr). */
  log?: (line: string) => void;
  env?: NodeJS.ProcessEnv;
}

function run(cmd: string, args: readonly string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<string> {
  return new Promise((res, rej) => {
    execFile(cmd, args, { cwd: opts.cwd, env: opts.env, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err === null) return res(stdout);
      const code = (err as NodeJS.ErrnoException).code;
      const why = code === 'ENOENT' ? `${cmd} is not installed` : `${cmd} ${args.join(' ')} failed (exit ${String(code)})`;
      rej(new DebianToolError(`${why}\n${String(stderr).trim().split('\n').slice(-6).join('\n')}`, err));
    });
  });
}

function cacheRoot(opts: DebianToolOptions): string {
  const env = opts.env ?? process.env;
  return resolve(opts.cacheDir ?? env.VIGIL_CACHE_DIR ?? join(homedir(), '.cache', 'vigil'));
}

const isRoot = (): boolean => typeof process.getuid === 'function' && process.getuid() === 0;

let aptQueue: Promise<unknown> = Promise.resolve();
/** apt holds locks: one apt command at a time in this process. */
function serial<T>(fn: () => Promise<T>): Promise<T> {
  const next = aptQueue.then(fn, fn);
  aptQueue = next.catch(() => undefined);
  return next;
}

/**
 * The extracted root of a Debian package (its files under `<dir>/usr/…`), fetched on first use.
 * Example: `join(await ensureDebianPackage('prometheus'), 'usr/bin/promtool')`.
 */
export async function ensureDebianPackage(pkg: string, opts: DebianToolOptions = {}): Promise<string> {
  if (!/^[a-z0-9][a-z0-9+.-]+$/.test(pkg)) throw new DebianToolError(`not a Debian package name: "${pkg}"`);
  const root = join(cacheRoot(opts), 'debian');
  const home = join(root, pkg);
  if (existsSync(join(home, '.complete'))) return home;
  const log = opts.log ?? ((l: string) => process.stderr.write(`tools: ${l}\n`));
  const tmp = join(root, `.${pkg}.${process.pid}.tmp`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  try {
    log(`fetching Debian package ${pkg} into ${home} (first use only)`);
    await serial(async () => {
      try {
        await run('apt-get', ['download', '-q', pkg], { cwd: tmp, env: opts.env });
      } catch (e) {
        if (!isRoot()) throw e;
        log('apt-get download failed; refreshing the package lists (apt-get update) and trying again');
        await run('apt-get', ['update', '-q'], { env: opts.env });
        await run('apt-get', ['download', '-q', pkg], { cwd: tmp, env: opts.env });
      }
    });
    const deb = readdirSync(tmp).find((f) => f.endsWith('.deb'));
    if (deb === undefined) throw new DebianToolError(`apt-get download ${pkg} left no .deb in ${tmp}`);
    await run('dpkg-deb', ['-x', deb, 'root'], { cwd: tmp });
    writeFileSync(join(tmp, 'root', '.complete'), `${deb}\n`);
    rmSync(home, { recursive: true, force: true });
    renameSync(join(tmp, 'root'), home);
    return home;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** A binary from a Debian package, e.g. `ensureDebianBinary('prometheus', 'promtool')`. */
export async function ensureDebianBinary(pkg: string, binary: string, opts: DebianToolOptions = {}): Promise<string> {
  const home = await ensureDebianPackage(pkg, opts);
  const path = join(home, 'usr', 'bin', binary);
  if (!existsSync(path)) throw new DebianToolError(`Debian package ${pkg} has no usr/bin/${binary}`);
  return path;
}

/** Whether dpkg says the package is installed. */
export async function isAptInstalled(pkg: string): Promise<boolean> {
  try {
    const out = await run('dpkg-query', ['-W', '-f=${Status}', pkg]);
    return out.includes('install ok installed');
  } catch {
    return false;
  }
}

/**
 * Installs a package with its dependencies (`apt-get install -y --no-install-recommends`) when it is
 * missing. Needs root for the install; without root a missing package is a clear error saying what to run.
 */
export async function ensureAptInstalled(pkg: string, opts: DebianToolOptions = {}): Promise<void> {
  if (await isAptInstalled(pkg)) return;
  if (!isRoot()) throw new DebianToolError(`Debian package ${pkg} is not installed; run: sudo apt-get install -y ${pkg}`);
  const log = opts.log ?? ((l: string) => process.stderr.write(`tools: ${l}\n`));
  log(`installing Debian package ${pkg} (first use only)`);
  const env = { ...(opts.env ?? process.env), DEBIAN_FRONTEND: 'noninteractive' };
  await serial(async () => {
    try {
      await run('apt-get', ['install', '-y', '-q', '--no-install-recommends', pkg], { env });
    } catch {
      await run('apt-get', ['update', '-q'], { env });
      await run('apt-get', ['install', '-y', '-q', '--no-install-recommends', pkg], { env });
    }
  });
}

// `node scripts/tools/debian-tools.ts <package> [binary]` prints the extracted root (or the binary's path).
if (import.meta.url === `file://${process.argv[1]}`) {
  const [pkg, binary] = process.argv.slice(2);
  if (!pkg) {
    process.stderr.write('usage: node scripts/tools/debian-tools.ts <package> [binary]\n');
    process.exit(2);
  }
  (binary ? ensureDebianBinary(pkg, binary) : ensureDebianPackage(pkg)).then(
    (p) => process.stdout.write(`${p}\n`),
    (e: Error) => {
      process.stderr.write(`${e.message}\n`);
      process.exit(1);
    },
  );
}
