import type { BreakerScope } from '@vigil/breaker-client/protocol';

/**
 * vigil's configuration, parsed once at start into a frozen object. Sources, strongest first:
 * environment variables, then the optional config file (`VIGIL_CONFIG`, YAML or JSON, same names as the
 * dotted paths below), then defaults; config.ts parses it (SETTINGS names every path, its env var and
 * default). An invalid value is refused with its name and source. Nothing else in vigil reads process.env.
 */
export interface Config {
  readonly env: string;
  readonly logLevel: 'debug' | 'info' | 'warn' | 'error';
  readonly kafka: {
    readonly brokers: readonly string[];
    readonly clientId: string;
    readonly groupId: string;
    readonly topics: {
      readonly actions: string;
      readonly dlq: string;
      readonly findings: string;
      readonly breakerTransitions: string;
      readonly compensations: string;
    };
    /** A value larger than this is dead-lettered as oversized. */
    readonly maxEventBytes: number;
    readonly sessionTimeoutMs: number;
    /** The watchdog restarts the consumer when no batch completes for this long while lag exists. */
    readonly stallTimeoutMs: number;
    readonly partitions: number;
    /** Deliveries of a batch whose handler fails with an unknown error (a bug) before its events are isolated. */
    readonly batchMaxAttempts: number;
    /** Most events of one batch dead-lettered as processing_failed before the partition is held instead. */
    readonly poisonLimit: number;
    /**
     * Partitions whose batches are in flight at once (kafkajs partitionsConsumedConcurrently): one's
     * decoding, dedupe and commit overlap another's detection, whose passes still run one at a time.
     */
    readonly partitionsConcurrently: number;
    /** TLS to the brokers (true when any TLS file is given). */
    readonly ssl: boolean;
    /** PEM files: the CA to trust (else the system's), a client certificate and its key (mutual TLS). */
    readonly tls: { readonly caFile: string | undefined; readonly certFile: string | undefined; readonly keyFile: string | undefined };
    /** SASL authentication, when a mechanism is set. */
    readonly sasl: { readonly mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; readonly username: string; readonly password: string } | undefined;
  };
  readonly schemaRegistry: {
    readonly url: string | undefined;
    /** HTTP basic authentication, when a username is set. */
    readonly auth: { readonly username: string; readonly password: string } | undefined;
    /** A PEM CA file to trust for an https:// registry (else the system's). */
    readonly caFile: string | undefined;
  };
  readonly redis: {
    readonly url: string;
    readonly cluster: boolean;
    readonly keyPrefix: string;
    /** How long an eventId is remembered for dedupe. */
    readonly dedupeTtlSeconds: number;
    /** ACL user and password (AUTH), besides any in the URL; the explicit ones win. */
    readonly username: string | undefined;
    readonly password: string | undefined;
    /** A PEM CA file to trust for rediss:// (else the system's). */
    readonly tlsCaFile: string | undefined;
  };
  readonly smtp: {
    readonly url: string | undefined;
    readonly from: string;
    /** The `oncall` recipient group: who gets what no route of the policy sends elsewhere. */
    readonly to: readonly string[];
    /** Named recipient groups (`oncall` is smtp.to) that the policy's notification routes send to. */
    readonly recipients: Readonly<Record<string, readonly string[]>>;
    /** Connect, greeting and socket timeout of one SMTP send. */
    readonly timeoutMs: number;
  };
  /** On-call notifications: links in e-mails and alerts, Alertmanager, the background loops. */
  readonly notify: {
    /** Base URL of docs/runbooks (`<base>/<kind>.md`); empty: the repository path is shown. */
    readonly runbookBaseUrl: string;
    /** The incident dashboard's URL (kind and scope are added as query parameters); empty: no link. */
    readonly dashboardUrl: string;
    /** Alertmanager base URLs, each pushed to (`POST <url>/api/v2/alerts`); empty: no pushes. */
    readonly alertmanagerUrls: readonly string[];
    /** How often the notification and compensation loops look for work. */
    readonly pollMs: number;
  };
  /** Compensations (sagas): the relay of commands to Kafka and the optional webhook executors. */
  readonly compensation: {
    /** Vendor → webhook URL of the built-in executor (POSTs each command with an Idempotency-Key). */
    readonly webhooks: Readonly<Record<string, string>>;
    readonly webhookTimeoutMs: number;
    /** How long the instance that relays commands keeps the job without renewing its lease. */
    readonly leaseMs: number;
    /** Commands per Kafka transaction. */
    readonly batchSize: number;
  };
  readonly http: {
    readonly host: string;
    readonly port: number;
    readonly adminToken: string | undefined;
    /** Operator actions (force-open, force-close, reset) per client address: a token bucket. 0 = no limit. */
    readonly adminRatePerMinute: number;
    readonly adminBurst: number;
    /**
     * How long an operator write (force-open, force-close, reset, over HTTP or the CLI) may take: past it
     * the caller gets an abandon error and the Lua script refuses the write if it still reaches Redis.
     */
    readonly adminWriteDeadlineMs: number;
    /** Bearer token of upstream services: POST …/trial needs it, and GET …/check takes trial permits only with it. */
    readonly clientToken: string | undefined;
    /** What GET /v1/breakers/check answers when Redis cannot be asked: allow (open) or deny (closed), per scope. */
    readonly failMode: HttpFailMode;
  };
  readonly metrics: {
    readonly host: string;
    readonly port: number;
    /** How often consumer lag is read from the broker (admin offsets against the group's committed ones). */
    readonly lagIntervalMs: number;
    /** A scrape reuses breaker counts read less than this long ago (a scrape storm scans Redis once). */
    readonly breakerMaxAgeMs: number;
    /** At most this many breakers are read per refresh (the counts say when they were capped). */
    readonly breakerScanLimit: number;
    /** Per-id breaker series (vendor, agent, action, global; never user) kept per scope type. */
    readonly breakerTopN: number;
    /** How often the monitor asks Kafka, Redis, the schema registry and SMTP whether they answer (vigil_dependency_up, /readyz). */
    readonly dependencyProbeMs: number;
  };
  /** OpenTelemetry tracing (off by default): OTLP over HTTP. */
  readonly tracing: {
    readonly enabled: boolean;
    /** The OTLP/HTTP traces URL, e.g. http://jaeger:4318/v1/traces. */
    readonly endpoint: string;
    readonly protocol: 'http/protobuf' | 'http/json';
    readonly serviceName: string;
    /** Share of batch traces kept (0..1); a finding's span follows its agent trace's sampling. */
    readonly sampleRatio: number;
  };
  readonly policyPath: string;
  /** Event time in the live engine (the bounds on hostile clocks are the policy's `eventTime:`). */
  readonly detection: {
    /** A partition with no accepted event for this long (Redis clock), or never heard from for this long, is idle. */
    readonly idlePartitionMs: number;
    /** How often the monitor settles what idle partitions no longer hold back, and updates the watermark metrics. */
    readonly tickMs: number;
    /** Log when the watermark has not moved for this long, at most once per this long. */
    readonly stallLogMs: number;
  };
}

/** A fail mode for each breaker scope: `open` allows the call, `closed` denies it. */
export interface HttpFailMode {
  readonly default: 'open' | 'closed';
  readonly perScope: Readonly<Partial<Record<BreakerScope, 'open' | 'closed'>>>;
}
