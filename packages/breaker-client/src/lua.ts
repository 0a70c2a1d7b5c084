import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Cluster, Redis } from 'ioredis';

/**
 * Lua scripts registered on an ioredis client with `defineCommand` (EVALSHA with an automatic EVAL
 * fallback, on single nodes and Cluster alike).
 *
 * File names follow BullMQ: `verbNoun-<numberOfKeys>.lua`, e.g. `tripBreaker-2.lua`; `verbNoun-n.lua`
 * takes a varying number of keys, which runScript passes first (EVALSHA's numkeys). The command is
 * registered as `vigil_<verbNoun>_v<SCRIPT_VERSION>` so that two versions running side by side during a
 * deploy never call each other's scripts by the same name.
 *
 * Includes (the BullMQ habit): a line `--- @include "<file>"` is replaced by that file's content when the
 * script is loaded. The path is relative to the including file, `.lua` may be left out; an included file
 * may include others; each file is included once per script (a second include of it expands to
 * nothing), so an include can name what it needs. A missing file or an include cycle is an error naming
 * the file and line.
 */
export const SCRIPT_VERSION = 2;
// 2: the operator overrides (forceOpenBreaker, forceCloseBreaker, resetBreaker) take a write deadline
//    (refused past it: -4) and their audit outbox stream as KEYS[2].

/** The breaker scripts' sources: `<package>/lua/src` (one level up from src/ or dist/). */
export const BREAKER_LUA_DIR = fileURLToPath(new URL('../lua/src/', import.meta.url));

export interface ScriptDef {
  /** Short name, e.g. `takePermit`. */
  name: string;
  /** The registered command, e.g. `vigil_takePermit_v2`. */
  command: string;
  /** null: a varying number of keys (`-n`), given by the caller before the keys. */
  numberOfKeys: number | null;
  /** The script as Redis runs it. */
  lua: string;
  /** The file it was read from. */
  file: string;
}

/** The versioned command name of a script, e.g. commandName('tripBreaker') === 'vigil_tripBreaker_v2'. */
export function commandName(name: string): string {
  return `vigil_${name}_v${SCRIPT_VERSION}`;
}

const INCLUDE_RE = /^--- @include "([^"]+)"\s*$/;

/** The script in `file` with every `--- @include "<file>"` expanded (each file once; see above). */
export function expandIncludes(file: string): string {
  const done = new Set<string>();
  const expand = (path: string, chain: string[]): string => {
    done.add(path);
    const lines = readFileSync(path, 'utf8').split('\n');
    return lines
      .map((line, i) => {
        const m = INCLUDE_RE.exec(line);
        if (!m) return line;
        const target = resolve(dirname(path), m[1]!.endsWith('.lua') ? m[1]! : `${m[1]}.lua`);
        const where = `${relative(dirname(file), path) || path} line ${i + 1}`;
        if (chain.includes(target)) {
          throw new Error(`Lua include cycle at ${where}: ${[...chain, target].map((p) => relative(dirname(file), p)).join(' -> ')}`);
        }
        if (done.has(target)) return `-- (${m[1]} is included above)`;
        let text: string;
        try {
          text = expand(target, [...chain, target]);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code === 'ENOENT' && (e as NodeJS.ErrnoException).path === target) {
            throw new Error(`Lua include "${m[1]}" at ${where} not found: ${target}`);
          }
          throw e;
        }
        return `-- >>> ${m[1]}\n${text.replace(/\n$/, '')}\n-- <<< ${m[1]}`;
      })
      .join('\n');
  };
  return expand(resolve(file), [resolve(file)]);
}

/** Every `verbNoun-<n>.lua` script of a directory (includes expanded), sorted by file name. */
export function loadLuaScripts(dir: string): ScriptDef[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.lua'))
    .sort()
    .map((f) => {
      const m = /^([a-zA-Z]+)-(\d+|n)\.lua$/.exec(f);
      if (!m) throw new Error(`Lua script ${join(dir, f)} must be named verbNoun-<numberOfKeys>.lua (or verbNoun-n.lua)`);
      const name = m[1]!;
      const file = join(dir, f);
      return { name, command: commandName(name), numberOfKeys: m[2] === 'n' ? null : Number(m[2]), lua: expandIncludes(file), file };
    });
}

let breakers: ScriptDef[] | undefined;

/** The breaker scripts (tripBreaker, takePermit, reportTrial, forceOpenBreaker, forceCloseBreaker, resetBreaker), read once. */
export function breakerScripts(): ScriptDef[] {
  return (breakers ??= loadLuaScripts(BREAKER_LUA_DIR));
}

const variableKeys = new Set<string>();

/** Defines each script as a command on the client (once per client). */
export function registerScripts(client: Redis | Cluster, defs: readonly ScriptDef[] = breakerScripts()): void {
  for (const s of defs) {
    if (s.numberOfKeys === null) variableKeys.add(s.name);
    if (!(s.command in client)) client.defineCommand(s.command, s.numberOfKeys === null ? { lua: s.lua } : { numberOfKeys: s.numberOfKeys, lua: s.lua });
  }
}

/** Calls a registered script by its short name, e.g. runScript(client, 'takePermit', keys, args). */
export async function runScript<T = unknown>(
  client: Redis | Cluster,
  name: string,
  keys: readonly (string | Buffer)[],
  args: readonly (string | number | Buffer)[],
): Promise<T> {
  const fn = (client as unknown as Record<string, (...a: unknown[]) => Promise<T>>)[commandName(name)];
  if (typeof fn !== 'function') throw new Error(`Lua script "${name}" is not registered on this client (registerScripts)`);
  if (variableKeys.has(name)) return fn.call(client, keys.length, ...keys, ...args);
  return fn.call(client, ...keys, ...args);
}
