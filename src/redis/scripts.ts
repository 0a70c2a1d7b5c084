import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Redis, Cluster } from 'ioredis';

/**
 * Registers every Lua script in src/redis/lua/ on a client with ioredis `defineCommand` (EVALSHA with
 * an automatic EVAL fallback, on single nodes and Cluster alike).
 *
 * File names follow BullMQ: `verbNoun-<numberOfKeys>.lua`, e.g. `tripBreaker-3.lua`; `verbNoun-n.lua` takes
 * a varying number of keys, which runScript passes first (EVALSHA's numkeys). The command is
 * registered as `vigil_<verbNoun>_v<SCRIPT_VERSION>` so that two versions of vigil running side by side
 * during a deploy never call each other's scripts by the same name.
 */
export const SCRIPT_VERSION = 1;

const LUA_DIR = join(dirname(fileURLToPath(import.meta.url)), 'lua');

export interface ScriptDef {
  name: string;
  command: string;
  /** null: a varying number of keys (`-n`), given by the caller before the keys. */
  numberOfKeys: number | null;
  lua: string;
}

let cache: ScriptDef[] | undefined;

/** The scripts in src/redis/lua/, read once. */
export function loadScripts(): ScriptDef[] {
  if (cache) return cache;
  cache = readdirSync(LUA_DIR)
    .filter((f) => f.endsWith('.lua'))
    .sort()
    .map((f) => {
      const m = /^([a-zA-Z]+)-(\d+|n)\.lua$/.exec(f);
      if (!m) throw new Error(`Lua script ${f} must be named verbNoun-<numberOfKeys>.lua (or verbNoun-n.lua)`);
      const name = m[1]!;
      return { name, command: commandName(name), numberOfKeys: m[2] === 'n' ? null : Number(m[2]), lua: readFileSync(join(LUA_DIR, f), 'utf8') };
    });
  return cache;
}

/** The versioned command name of a script, e.g. commandName('tripBreaker') === 'vigil_tripBreaker_v1'. */
export function commandName(name: string): string {
  return `vigil_${name}_v${SCRIPT_VERSION}`;
}

let variable: Set<string> | undefined;
function variableKeys(): Set<string> {
  return (variable ??= new Set(loadScripts().filter((s) => s.numberOfKeys === null).map((s) => s.name)));
}

/**
 * The commands of the `-n` scripts. ioredis's auto-pipelining picks a Cluster node by a command's
 * first argument, which for these is the key count, not a key: they must bypass it (connection.ts), and
 * are then routed by their real keys.
 */
export function variableKeyCommands(): string[] {
  return [...variableKeys()].map(commandName);
}

export function registerScripts(client: Redis | Cluster): void {
  for (const s of loadScripts()) {
    if (!(s.command in client)) client.defineCommand(s.command, s.numberOfKeys === null ? { lua: s.lua } : { numberOfKeys: s.numberOfKeys, lua: s.lua });
  }
}

/** Calls a registered script by its short name, e.g. runScript(client, 'tripBreaker', keys, args). */
export async function runScript<T = unknown>(
  client: Redis | Cluster,
  name: string,
  keys: readonly (string | Buffer)[],
  args: readonly (string | number | Buffer)[],
): Promise<T> {
  const fn = (client as unknown as Record<string, (...a: unknown[]) => Promise<T>>)[commandName(name)];
  if (typeof fn !== 'function') throw new Error(`Lua script "${name}" is not registered (is src/redis/lua/${name}-N.lua there?)`);
  if (variableKeys().has(name)) return fn.call(client, keys.length, ...keys, ...args);
  return fn.call(client, ...keys, ...args);
}
