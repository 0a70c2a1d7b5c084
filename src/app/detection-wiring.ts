import type { Config } from '../config/config.ts';
import type { Logger } from '../observability/logger.ts';
import type { MonitorOptions } from './monitor.ts';

/**
 * Builds the stage after ingest. Until the detectors are wired in, the monitor only counts events.
 */
export function detectionHandlerFactory(_config: Config, _logger: Logger): MonitorOptions['handler'] {
  return undefined;
}
