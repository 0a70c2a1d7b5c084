import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

/**
 * In a checkout of the repository (not in a deploy without the package's sources), rebuilds the
 * workspace package @vigil/breaker-client when its inputs changed since its dist/ was built. The monitor
 * imports the package's compiled dist/, like any user; this makes sure a stale build is never run.
 * Must run before any command module is imported (main.ts loads them lazily for that reason).
 */
export async function ensureFreshBreakerClient(log: (line: string) => void): Promise<void> {
  const script = fileURLToPath(new URL('../../packages/breaker-client/scripts/build.mjs', import.meta.url));
  if (!existsSync(script)) return;
  const build = (await import(pathToFileURL(script).href)) as { isFresh(): Promise<boolean>; build(): Promise<void> };
  if (await build.isFresh()) return;
  log('vigil: packages/breaker-client changed since its last build: rebuilding its dist/');
  await build.build();
}
