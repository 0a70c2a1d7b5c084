import type { Config } from '../config/config.ts';
import type { Monitor } from '../app/monitor.ts';
import type { StackEndpoints } from '../../scripts/stack/index.ts';

export interface DemoReportDeps {
  config: Config;
  monitor: Monitor;
  stack: StackEndpoints;
  say: (line: string) => void;
}

/** What the demo shows after the traffic is consumed; grows as vigil learns to find and act. */
export async function showDemoResults(_deps: DemoReportDeps): Promise<void> {}
