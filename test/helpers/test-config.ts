import { loadConfig, type Config } from '../../src/config/config.ts';
import { isolatedEnv } from '../../src/config/isolated-env.ts';
import { stackEndpoints } from './stack-env.ts';
import { randomName } from './wait.ts';

/**
 * A Config for one integration test: the local stack's addresses, and topics, consumer group and Redis
 * key prefix of its own, so tests never see each other's events or state.
 */
export function testEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const s = stackEndpoints();
  const id = randomName('t');
  return {
    ...isolatedEnv(id, s),
    VIGIL_PARTITIONS: '3',
    VIGIL_METRICS_PORT: '0',
    VIGIL_HTTP_PORT: '0',
    VIGIL_LOG_LEVEL: 'warn',
    // the shared Redis keeps one marker per handled event: let a test's expire within the hour
    VIGIL_DEDUPE_TTL_SECONDS: '3600',
    ...extra,
  };
}

export function testConfig(extra: Record<string, string> = {}): { env: NodeJS.ProcessEnv; config: Config } {
  const env = testEnv(extra);
  return { env, config: loadConfig(env) };
}
