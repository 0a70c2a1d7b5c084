import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ensureApicurio } from './downloads.ts';
import type { JavaRuntime } from './java-finder.ts';
import type { PieceContext } from './piece-context.ts';
import { isAlive, pollUntil, spawnDetached, stopOnFailure, tailFile } from './process-utils.ts';
import { StackPieceError } from './stack-errors.ts';
import type { PieceRecord } from './stack-state.ts';

/**
 * Apicurio Registry 3.x with in-memory storage, serving the Confluent-compatible API that
 * @kafkajs/confluent-schema-registry speaks at http://host:port/apis/ccompat/v7.
 */

export const REGISTRY_PORT = 18081;
export const REGISTRY_MANAGEMENT_PORT = 18082;
/** 3.3.x needs Java 21 (class file 65); 3.0.x runs on Java 17. */
export const APICURIO_FOR_JAVA21 = '3.3.3';
export const APICURIO_FOR_JAVA17 = '3.0.9';
const CCOMPAT_PATH = '/apis/ccompat/v7';

/** Fetches and extracts the app (first run), starts it and waits until the ccompat API answers. */
export async function startSchemaRegistry(ctx: PieceContext, java: JavaRuntime, version: string): Promise<PieceRecord> {
  const { config } = ctx;
  const jar = await ensureApicurio({
    cacheDir: config.cacheDir,
    version,
    env: config.childEnv,
    log: ctx.log,
  });
  const port = await ctx.claimPort(REGISTRY_PORT);
  const managementPort = await ctx.claimPort(REGISTRY_MANAGEMENT_PORT);
  const home = join(config.runtimeDir, 'schema-registry');
  rmSync(home, { recursive: true, force: true });
  mkdirSync(home, { recursive: true });
  const logPath = join(ctx.logsDir, 'schema-registry.log');
  writeFileSync(logPath, '');
  ctx.log(`schema-registry: starting Apicurio Registry ${version} on 127.0.0.1:${port} (Java ${java.major})`);
  const args = [
    '-Xms128m',
    '-Xmx512m',
    '-XX:+UseSerialGC',
    // C1 only: on 2 busy cores the C2 compiler threads double the start time, and the registry's
    // own speed does not matter (clients cache schemas).
    '-XX:TieredStopAtLevel=1',
    // JDK 19+: map classes from an archive the first run writes at exit (JVM-managed, validated).
    ...(java.major >= 19 ? ['-XX:+AutoCreateSharedArchive', `-XX:SharedArchiveFile=${join(dirname(jar), `cds-java${java.major}.jsa`)}`] : []),
    // Tags the process with its stack, so `down` finds it even if state.json lost its pid.
    `-Dvigil.stack.dir=${config.runtimeDir}`,
    '-Dquarkus.http.host=127.0.0.1',
    `-Dquarkus.http.port=${port}`,
    '-Dquarkus.management.host=127.0.0.1',
    `-Dquarkus.management.port=${managementPort}`,
    '-Dquarkus.http.access-log.enabled=false',
    '-Dquarkus.banner.enabled=false',
    '-jar',
    jar,
  ];
  const pid = spawnDetached(java.bin, args, { logPath, cwd: home, env: config.childEnv });
  const url = `http://127.0.0.1:${port}${CCOMPAT_PATH}`;
  await stopOnFailure(pid, async () => {
    await pollUntil(() => registryHealthy(url), {
      timeoutMs: config.startTimeoutMs,
      intervalMs: 300,
      abort: () => (isAlive(pid) ? undefined : 'the registry process exited'),
      onTimeout: (why) => new StackPieceError('schema-registry', why, { logPath, logTail: tailFile(logPath) }),
    });
    await setGlobalCompatibility(url, 'BACKWARD').catch((e: unknown) => {
      throw new StackPieceError('schema-registry', `could not set the global compatibility rule: ${(e as Error).message}`, { logPath, logTail: tailFile(logPath) });
    });
  });
  return {
    piece: 'schema-registry',
    managed: true,
    address: url,
    pid,
    ports: { http: port, management: managementPort },
    logPath,
    detail: `Apicurio Registry ${version} (in-memory, BACKWARD) on Java ${java.major}`,
    startedAt: new Date().toISOString(),
  };
}

/** True when GET <url>/subjects answers 200 (url is the ccompat base). */
export async function registryHealthy(url: string, timeoutMs = 2000): Promise<boolean> {
  try {
    const res = await fetch(`${url.replace(/\/$/, '')}/subjects`, { signal: AbortSignal.timeout(timeoutMs) });
    await res.arrayBuffer();
    return res.status === 200;
  } catch {
    return false;
  }
}

/** PUT <url>/config {"compatibility": level}: the rule every new subject gets. */
export async function setGlobalCompatibility(url: string, level: 'BACKWARD' | 'NONE' | 'FULL' | 'FORWARD'): Promise<void> {
  const res = await fetch(`${url.replace(/\/$/, '')}/config`, {
    method: 'PUT',
    headers: { 'content-type': 'application/vnd.schemaregistry.v1+json' },
    body: JSON.stringify({ compatibility: level }),
    signal: AbortSignal.timeout(10_000),
  });
  const body = await res.text();
  if (res.status !== 200) throw new Error(`PUT ${url}/config answered ${res.status}: ${body.slice(0, 200)}`);
}
