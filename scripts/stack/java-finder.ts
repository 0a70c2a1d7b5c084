import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** A Java runtime found on this machine. */
export interface JavaRuntime {
  /** Path of the `java` executable. */
  readonly bin: string;
  /** Feature version: 17, 21, 25… */
  readonly major: number;
}

/**
 * Finds the Java runtimes on this machine: JAVA_HOME, the `java` on PATH, then every JDK under
 * /usr/lib/jvm. Deduplicated by real path; the first one is the default.
 */
export function findJavaRuntimes(javaHomeEnv: string | undefined, searchPath: string): JavaRuntime[] {
  const candidates: string[] = [];
  if (javaHomeEnv !== undefined && javaHomeEnv !== '') candidates.push(join(javaHomeEnv, 'bin', 'java'));
  candidates.push(...searchPath.split(':').filter(Boolean).map((d) => join(d, 'java')));
  try {
    for (const d of readdirSync('/usr/lib/jvm').sort()) candidates.push(join('/usr/lib/jvm', d, 'bin', 'java'));
  } catch {
    // no /usr/lib/jvm
  }
  const seen = new Set<string>();
  const found: JavaRuntime[] = [];
  for (const c of candidates) {
    if (!existsSync(c)) continue;
    let real: string;
    try {
      real = realpathSync(c);
    } catch {
      continue;
    }
    if (seen.has(real)) continue;
    seen.add(real);
    const major = javaMajor(real);
    if (major !== undefined) found.push({ bin: real, major });
  }
  return found;
}

/** The runtime in the JDK/JRE at `home` (its bin/java), or undefined if there is none. */
export function javaAt(home: string): JavaRuntime | undefined {
  const bin = join(home, 'bin', 'java');
  if (!existsSync(bin)) return undefined;
  const real = realpathSync(bin);
  const major = javaMajor(real);
  return major === undefined ? undefined : { bin: real, major };
}

/** The default runtime if it is at least `min`, else the newest one that is; undefined if none. */
export function pickJava(runtimes: readonly JavaRuntime[], min: number, preferNewest = false): JavaRuntime | undefined {
  const ok = runtimes.filter((r) => r.major >= min);
  if (ok.length === 0) return undefined;
  if (!preferNewest && runtimes[0] !== undefined && runtimes[0].major >= min) return runtimes[0];
  return ok.reduce((a, b) => (b.major > a.major ? b : a));
}

/** Reads the JDK's `release` file (JAVA_VERSION="25.0.3"), falling back to `java -version`. */
function javaMajor(bin: string): number | undefined {
  const release = join(dirname(dirname(bin)), 'release');
  let text = '';
  try {
    text = readFileSync(release, 'utf8');
  } catch {
    try {
      text = execFileSync(bin, ['-version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 10_000 });
    } catch (e) {
      text = String((e as { stderr?: string }).stderr ?? '');
    }
  }
  const m = /version[= ]"(\d+)(?:\.(\d+))?/i.exec(text) ?? /JAVA_VERSION="(\d+)(?:\.(\d+))?/.exec(text);
  if (!m) return undefined;
  const first = Number(m[1]);
  return first === 1 ? Number(m[2]) : first;
}
