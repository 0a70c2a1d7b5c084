import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { ConfigError } from '../errors/vigil-error.ts';
import { redactSecrets as redact } from '../observability/redact.ts';

/** A config file's values by dotted path (`kafka.brokers`), as loadConfig reads them. */
export type FileValues = Record<string, unknown>;

/** Settings whose file value may be a mapping (name → value or list), e.g. smtp.recipients. */
const MAP_SETTINGS: ReadonlySet<string> = new Set(['smtp.recipients', 'compensation.webhooks']);

function flatten(obj: unknown, prefix: string, out: FileValues): FileValues {
  if (MAP_SETTINGS.has(prefix) && typeof obj === 'object' && obj !== null && !Array.isArray(obj)) {
    // `name: [a, b]` → `name=a b`, joined by `;`: the env var's form.
    out[prefix] = Object.entries(obj).map(([k, v]) => `${k}=${Array.isArray(v) ? v.join(' ') : String(v)}`).join(';');
  } else if (typeof obj === 'object' && obj !== null && !Array.isArray(obj)) {
    for (const [k, v] of Object.entries(obj)) flatten(v, prefix ? `${prefix}.${k}` : k, out);
  } else {
    out[prefix] = obj;
  }
  return out;
}

/** The config file at `path`, flattened to dotted paths; a key `isKnown` refuses is named in the error. */
export function readConfigFile(path: string, isKnown: (key: string) => boolean, known: readonly string[]): FileValues {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigError(`config file ${path} cannot be read: ${(e as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (e) {
    throw new ConfigError(`config file ${path} is not valid YAML/JSON: ${(e as Error).message}`);
  }
  const flat = flatten(doc ?? {}, '', {});
  for (const k of Object.keys(flat)) {
    if (!isKnown(k)) throw new ConfigError(`config file ${path}: unknown setting "${k}" (known: ${known.join(', ')})`);
  }
  return flat;
}

/** A secret's file (a mounted secret): its content without the final newline. Errors never show the content. */
export function readSecretFile(path: string, from: string): string {
  try {
    return readFileSync(path, 'utf8').replace(/\r?\n$/, '');
  } catch (e) {
    throw new ConfigError(`${from}: cannot read the secret file "${redact(path)}": ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

export function deepFreeze<T>(o: T): T {
  if (typeof o === 'object' && o !== null) {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}
