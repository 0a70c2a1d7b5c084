import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SCHEMA_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'schemas');

/** The Avro schemas in schemas/, by file stem (agent-action, finding, breaker-transition, …), read once. */
export function avroSchema(stem: string): Record<string, unknown> {
  return JSON.parse(readFileSync(join(SCHEMA_DIR, `${stem}.avsc`), 'utf8')) as Record<string, unknown>;
}
