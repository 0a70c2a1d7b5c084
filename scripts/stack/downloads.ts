import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { StackPieceError, type PieceName } from './stack-errors.ts';

/**
 * Fetches the JVM pieces from Maven Central into the cache (${VIGIL_CACHE_DIR:-~/.cache/vigil}), once:
 * a folder is complete only when its `.complete` marker exists (written last), so an interrupted
 * download is redone rather than half-used. Maven runs one at a time (its local repo has no locking).
 */

let mavenQueue: Promise<unknown> = Promise.resolve();

/** Runs mvn quietly with `pom` (or without a project, in `cwd`). Errors carry Maven's last lines. */
function runMaven(piece: PieceName, args: readonly string[], env: NodeJS.ProcessEnv, project: { pom: string } | { cwd: string }): Promise<void> {
  const where = 'pom' in project ? ['-f', project.pom] : [];
  const cwd = 'cwd' in project ? project.cwd : undefined;
  const run = (): Promise<void> =>
    new Promise((resolve, reject) => {
      execFile('mvn', ['-B', '-q', '-Dstyle.color=never', ...where, ...args], { env, cwd, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
        if (err === null) return resolve();
        const code = (err as NodeJS.ErrnoException).code;
        const goal = `dependency:${(args[0] ?? '').split(':').pop() ?? ''}`;
        const why = code === 'ENOENT' ? 'Maven (mvn) is not installed or not on PATH' : `mvn ${goal} failed (exit ${String(code)})`;
        const output = `${stdout}\n${stderr}`
          .replace(/\u001b?\[[0-9;]*m/g, '')
          .split('\n')
          .filter((l) => l.trim() !== '' && l.trim() !== '[ERROR]')
          .slice(-12)
          .join('\n');
        reject(new StackPieceError(piece, why, { logTail: output, cause: err }));
      });
    });
  const next = mavenQueue.then(run, run);
  mavenQueue = next.catch(() => undefined);
  return next;
}

/** The cached Kafka runtime jars (`<cache>/kafka-<version>/libs`), fetched with Maven when missing. */
export async function ensureKafkaLibs(opts: {
  cacheDir: string;
  version: string;
  pomPath: string;
  env: NodeJS.ProcessEnv;
  log: (msg: string) => void;
}): Promise<string> {
  const home = join(opts.cacheDir, `kafka-${opts.version}`);
  const libs = join(home, 'libs');
  if (existsSync(join(home, '.complete'))) return libs;
  opts.log(`kafka: fetching Kafka ${opts.version} jars from Maven Central into ${home} (first run only)`);
  const tmp = join(opts.cacheDir, `.kafka-${opts.version}.${process.pid}.tmp`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  await runMaven(
    'kafka',
    ['dependency:copy-dependencies', '-DincludeScope=runtime', `-DoutputDirectory=${join(tmp, 'libs')}`, `-Dkafka.version=${opts.version}`],
    opts.env,
    { pom: opts.pomPath },
  );
  const jars = readdirSync(join(tmp, 'libs'));
  // Kafka 4.x logs through SLF4J 1.7; an SLF4J 2 API with a 1.x binding would silently drop every log line.
  const slf4j = jars.find((j) => /^slf4j-api-/.test(j));
  const binding = jars.find((j) => /^log4j-slf4j2?-impl-/.test(j));
  if (slf4j === undefined || binding === undefined || (slf4j.startsWith('slf4j-api-2') !== binding.startsWith('log4j-slf4j2-impl'))) {
    throw new StackPieceError('kafka', `logging jars do not match (slf4j-api: ${slf4j ?? 'none'}, binding: ${binding ?? 'none'}); fix scripts/stack/kafka/pom.xml`);
  }
  writeFileSync(join(tmp, '.complete'), `${jars.length} jars\n`);
  publish(tmp, home);
  return libs;
}

/** The cached, extracted Apicurio Registry app (`<cache>/apicurio-<version>`): returns the jar to run. */
export async function ensureApicurio(opts: {
  cacheDir: string;
  version: string;
  env: NodeJS.ProcessEnv;
  log: (msg: string) => void;
}): Promise<string> {
  const home = join(opts.cacheDir, `apicurio-${opts.version}`);
  if (!existsSync(join(home, '.complete'))) {
    opts.log(`schema-registry: fetching Apicurio Registry ${opts.version} from Maven Central into ${home} (first run only)`);
    const tmp = join(opts.cacheDir, `.apicurio-${opts.version}.${process.pid}.tmp`);
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp, { recursive: true });
    // dependency:get of plugin 2.8, without a project: newer plugins (and dependency:copy) insist on the
    // artifact's parent POMs, and Central lacks io.apicurio:apicurio-registry:pom for some 3.x releases.
    await runMaven(
      'schema-registry',
      [
        'org.apache.maven.plugins:maven-dependency-plugin:2.8:get',
        `-Dartifact=io.apicurio:apicurio-registry-app:${opts.version}:tar.gz:all`,
        '-Dtransitive=false',
        `-Ddest=${tmp}/`,
      ],
      opts.env,
      { cwd: tmp },
    );
    const archive = readdirSync(tmp).find((f) => f.endsWith('.tar.gz'));
    if (archive === undefined) throw new StackPieceError('schema-registry', `Maven fetched no archive for apicurio-registry-app ${opts.version}`);
    await new Promise<void>((resolve, reject) => {
      execFile('tar', ['-xzf', join(tmp, archive), '-C', tmp], (err, _out, stderr) =>
        err === null ? resolve() : reject(new StackPieceError('schema-registry', `could not extract ${archive}: ${stderr.trim()}`, { cause: err })),
      );
    });
    rmSync(join(tmp, archive));
    writeFileSync(join(tmp, '.complete'), `${opts.version}\n`);
    publish(tmp, home);
  }
  const jar = apicurioJar(home);
  if (jar === undefined) throw new StackPieceError('schema-registry', `no quarkus-run.jar or *-runner.jar in ${home}`);
  return jar;
}

/** Moves a finished download into place, unless another clone's `up` finished the same one first. */
function publish(tmp: string, home: string): void {
  if (existsSync(join(home, '.complete'))) {
    rmSync(tmp, { recursive: true, force: true });
    return;
  }
  rmSync(home, { recursive: true, force: true });
  renameSync(tmp, home);
}

/** 3.3.x ships quarkus-run.jar at the root; older 3.x a *-runner.jar or quarkus-app/quarkus-run.jar. */
function apicurioJar(home: string): string | undefined {
  for (const p of [join(home, 'quarkus-run.jar'), join(home, 'quarkus-app', 'quarkus-run.jar')]) if (existsSync(p)) return p;
  const runner = readdirSync(home).find((f) => f.endsWith('-runner.jar'));
  return runner === undefined ? undefined : join(home, runner);
}
