import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { runTs, type Child } from '../helpers/child-process.ts';
import { testEnv } from '../helpers/test-config.ts';
import { waitFor } from '../helpers/wait.ts';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const SAMPLE = fileURLToPath(new URL('../../samples/normal-traffic.jsonl', import.meta.url));

/** The JSON log lines a child wrote on stderr (the logger writes JSON when stderr is not a terminal). */
function logLines(child: Child): { msg: string; [k: string]: unknown }[] {
  return child.stderr.join('').split('\n').flatMap((l) => {
    try {
      return [JSON.parse(l) as { msg: string }];
    } catch {
      return [];
    }
  });
}

/**
 * Issue 2: `vigil produce FILE` then `vigil run`, as an operator types them (separate processes, real
 * stack): the monitor shows the events consumed in its metrics and its log, and stops cleanly on SIGTERM.
 */
describe('vigil produce, then vigil run (CLI processes)', () => {
  const env = testEnv({ VIGIL_LOG_LEVEL: 'info' });
  let run: Child | undefined;
  afterAll(() => {
    run?.proc.kill('SIGKILL');
  });

  it('shows the produced events consumed, in /metrics and in the log, and stops on SIGTERM', async () => {
    const produce = runTs(MAIN, ['produce', SAMPLE], env);
    expect(await produce.exited, produce.stderr.join('')).toBe(0);
    expect(produce.stderr.join('')).toMatch(/produced 60 events to .*agent\.actions \(Avro\)/);

    run = runTs(MAIN, ['run'], env);
    const metricsUrl = await waitFor(() => logLines(run!).find((l) => l.msg === 'metrics served')?.url as string | undefined, {
      timeoutMs: 60_000, description: 'the "metrics served" log line',
    });
    const consumed = await waitFor(async () => {
      const text = await (await fetch(metricsUrl)).text();
      const m = /^vigil_events_consumed_total\{[^}]*\} (\d+)/m.exec(text);
      return m && Number(m[1]) >= 60 ? Number(m[1]) : undefined;
    }, { timeoutMs: 60_000, description: 'vigil_events_consumed_total to reach 60' });
    expect(consumed).toBe(60);

    run.proc.kill('SIGTERM');
    expect(await run.exited).toBe(0);
    const stopped = logLines(run).find((l) => l.msg === 'stopped');
    expect(stopped).toMatchObject({ consumed: 60, handled: 60, duplicates: 0, deadLettered: 0 });
    expect(logLines(run).some((l) => l.msg === 'stopping: finishing the batch in flight' && l.signal === 'SIGTERM')).toBe(true);
    run = undefined;
  }, 180_000);
});
