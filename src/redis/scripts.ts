import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChainableCommander, Redis, Cluster } from 'ioredis';
import { breakerScripts, commandName, loadLuaScripts, registerScripts as define, runScript as run, SCRIPT_VERSION } from '@vigil/breaker-client/protocol';
import type { ScriptDef } from '@vigil/breaker-client/protocol';

/**
 * Every Lua script the monitor runs: its own (src/redis/lua/: ingest dedupe, detector state, watermarks)
 * and the breaker scripts of @vigil/breaker-client (the protocol's, shared with every client), registered
 * with ioredis `defineCommand` under `vigil_<verbNoun>_v<SCRIPT_VERSION>` (see the package's lua.ts).
 */
export { commandName, SCRIPT_VERSION };
export type { ScriptDef };

const LUA_DIR = join(dirname(fileURLToPath(import.meta.url)), 'lua');

let cache: ScriptDef[] | undefined;

/** The monitor's scripts and the breaker scripts, read once. */
export function loadScripts(): ScriptDef[] {
  return (cache ??= [...loadLuaScripts(LUA_DIR), ...breakerScripts()].sort((a, b) => a.name.localeCompare(b.name)));
}

/**
 * The commands of the `-n` scripts. ioredis's auto-pipelining picks a Cluster node by a command's
 * first argument, which for these is the key count, not a key: they must bypass it (connection.ts), and
 * are then routed by their real keys.
 */
export function variableKeyCommands(): string[] {
  return loadScripts().filter((s) => s.numberOfKeys === null).map((s) => s.command);
}

export function registerScripts(client: Redis | Cluster): void {
  define(client, loadScripts());
}

/** Calls a registered script by its short name, e.g. runScript(client, 'tripBreaker', keys, args). */
export function runScript<T = unknown>(
  client: Redis | Cluster,
  name: string,
  keys: readonly (string | Buffer)[],
  args: readonly (string | number | Buffer)[],
): Promise<T> {
  return run<T>(client, name, keys, args);
}

let byName: Map<string, ScriptDef> | undefined;

/**
 * Queues a registered script on a pipeline or MULTI by its short name, as runScript calls it on a client
 * (a `-n` script gets its key count first): the one way to put a script in a pipeline, e.g.
 * queueScript(redis.multi().sadd(index, member), 'tripBreaker', keys, args).exec().
 */
export function queueScript<P extends ChainableCommander>(
  pipe: P,
  name: string,
  keys: readonly (string | Buffer)[],
  args: readonly (string | number | Buffer)[],
): P {
  const def = (byName ??= new Map(loadScripts().map((d) => [d.name, d]))).get(name);
  if (!def) throw new Error(`Lua script "${name}" is not one of vigil's scripts (src/redis/lua, @vigil/breaker-client)`);
  const fn = (pipe as unknown as Record<string, (...a: unknown[]) => unknown>)[def.command];
  if (typeof fn !== 'function') throw new Error(`Lua script "${name}" is not registered on this pipeline's client (registerScripts)`);
  if (def.numberOfKeys === null) fn.call(pipe, keys.length, ...keys, ...args);
  else fn.call(pipe, ...keys, ...args);
  return pipe;
}
