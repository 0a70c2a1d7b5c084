import { errorKind } from './error-kind.ts';

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

/**
 * True when retrying can help: the error says so (`retriable: true`), or it is one that a dependency
 * being down or slow raises (see errorKind in error-kind.ts). An unknown error (a TypeError from a bug)
 * is NOT retriable here: ingest retries it a bounded number of times, then isolates the event.
 */
export function isRetriable(e: unknown): boolean {
  return errorKind(e) === 'transient';
}

/**
 * Handling one event failed in code that does no I/O (a detector threw on it): the event is the
 * suspect, not a dependency. Not retriable; ingest dead-letters the event (`processing_failed`) and
 * lets the events around it through.
 */
export class EventProcessingError extends VigilError {
  readonly eventId: string;
  constructor(eventId: string, where: string, cause: unknown) {
    const c = cause as Error | undefined;
    super(`${where} failed on event ${eventId}: ${c?.name ?? 'Error'}: ${c?.message ?? String(cause)}`, { retriable: false, cause });
    this.eventId = eventId;
  }
}

/** The event id an error blames, if it blames one (EventProcessingError). */
export function blamedEventId(e: unknown): string | undefined {
  const id = (e as { eventId?: unknown } | null)?.eventId;
  return isVigilError(e) && typeof id === 'string' ? id : undefined;
}

/** A configuration value is invalid: refused at start, never retried. */
export class ConfigError extends VigilError {
  constructor(message: string) {
    super(message, { retriable: false });
  }
}
