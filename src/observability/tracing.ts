import { trace, type Tracer } from '@opentelemetry/api';
import type { Config } from '../config/config.ts';
import type { Logger } from './logger.ts';

/** vigil's tracing while it is on: the tracer to make spans with, and how to flush and stop. */
export interface Tracing {
  tracer: Tracer;
  /** Exports the spans still buffered. */
  flush(): Promise<void>;
  shutdown(): Promise<void>;
}

/**
 * Starts OpenTelemetry tracing when `tracing.enabled` is set (it is off by default): the Node SDK with
 * one batch span processor exporting OTLP over HTTP (protobuf or JSON) to `tracing.endpoint`, a
 * parent-based sampler whose roots (vigil's batch spans) keep `tracing.sampleRatio` of the traces, no
 * auto-instrumentation, no metrics or logs pipeline (metrics are Prometheus's). The SDK and exporters are
 * imported only here, and only when tracing is on, so a monitor without tracing never loads them.
 * The SDK registers itself globally: one tracing per process.
 */
export async function startTracing(config: Config['tracing'], logger: Logger): Promise<Tracing | undefined> {
  if (!config.enabled) return undefined;
  const [{ NodeSDK }, sdkTrace, exporterModule] = await Promise.all([
    import('@opentelemetry/sdk-node'),
    import('@opentelemetry/sdk-trace'),
    config.protocol === 'http/json' ? import('@opentelemetry/exporter-trace-otlp-http') : import('@opentelemetry/exporter-trace-otlp-proto'),
  ]);
  const exporter = new exporterModule.OTLPTraceExporter({ url: config.endpoint, timeoutMillis: 10_000 });
  const processor = new sdkTrace.BatchSpanProcessor({ exporter, scheduledDelayMillis: 1000 });
  const sdk = new NodeSDK({
    serviceName: config.serviceName,
    autoDetectResources: false,
    instrumentations: [],
    metricReaders: [],
    logRecordProcessors: [],
    textMapPropagator: null,
    spanProcessors: [processor],
    sampler: new sdkTrace.ParentBasedSampler({ root: new sdkTrace.TraceIdRatioBasedSampler(config.sampleRatio) }),
  });
  sdk.start();
  logger.info('tracing on', { endpoint: config.endpoint, protocol: config.protocol, serviceName: config.serviceName, sampleRatio: config.sampleRatio });
  return {
    tracer: trace.getTracer('vigil'),
    flush: () => processor.forceFlush(),
    shutdown: () => sdk.shutdown(),
  };
}
