import type { Finding } from '../../processors/core/finding.ts';

/**
 * Where findings go: `safety.findings` in Kafka live (src/kafka/finding-publisher.ts), stdout in replay.
 * `publish` resolves once the findings are durable; it is safe to call again with the same findings
 * (findingIds are deterministic and the sink skips ones already published).
 */
export interface FindingSink {
  publish(findings: readonly Finding[]): Promise<void>;
}
