/**
 * Placeholder until the local stack lands: unit tests need no services. The stack module replaces this
 * with one that starts (or reuses) Kafka, the registry, Redis and SMTP and passes their addresses on.
 */
export default async function setup(): Promise<void> {}
