/**
 * Every error vigil raises says whether retrying can help (the kafkajs habit): a retriable error pauses
 * or retries the work (Redis or SMTP down), a non-retriable one is dead-lettered or refused at start.
 */
export class VigilError extends Error {
  readonly retriable: boolean;
  /** Marker for isVigilError(): survives duplicated module instances, unlike instanceof. */
  readonly isVigilError = true;
  constructor(message: string, opts: { retriable: boolean; cause?: unknown }) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.retriable = opts.retriable;
  }
}

export function isVigilError(e: unknown): e is VigilError {
  return typeof e === 'object' && e !== null && (e as { isVigilError?: unknown }).isVigilError === true;
}

/** True when the error says retrying can help; unknown errors are treated as retriable (transient). */
export function isRetriable(e: unknown): boolean {
  if (typeof e === 'object' && e !== null && 'retriable' in e) return (e as { retriable: unknown }).retriable === true;
  return true;
}

/** A configuration value is invalid: refused at start, never retried. */
export class ConfigError extends VigilError {
  constructor(message: string) {
    super(message, { retriable: false });
  }
}
