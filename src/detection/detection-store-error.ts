import { VigilError } from '../errors/vigil-error.ts';

/**
 * Redis could not load or save detector state (down, timed out, or too many concurrent updates of one
 * slice in a row). Retriable: ingest retries the batch, which is idempotent.
 */
export class DetectionStoreError extends VigilError {
  constructor(message: string, cause?: unknown) {
    super(message, { retriable: true, cause });
  }
}
