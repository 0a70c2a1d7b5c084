import type { CommandIo } from './io.ts';

/** `vigil breakers …`: wired to src/cli/breakers.ts once the breakers module lands. */
export async function breakersEntry(_argv: string[], io: CommandIo): Promise<number> {
  io.stderr.write('vigil breakers: not available in this build\n');
  return 2;
}
