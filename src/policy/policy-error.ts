import { VigilError } from '../errors/vigil-error.ts';

/** One thing wrong in a policy file: where, which field, what. */
export interface PolicyProblem {
  file: string;
  /** 1-based line, 0 when unknown. */
  line: number;
  /** Dotted path of the field, e.g. detectors.retry_spike.params.maxRetries. */
  field: string;
  message: string;
}

/** An invalid or unreadable policy file: refused (at start, or on reload, keeping the running policy). */
export class PolicyError extends VigilError {
  readonly problems: readonly PolicyProblem[];
  constructor(problems: readonly PolicyProblem[]) {
    super(problems.map(formatProblem).join('\n'), { retriable: false });
    this.problems = problems;
  }
}

/** `file:line: field: message`, the form an editor can jump to. */
export function formatProblem(p: PolicyProblem): string {
  const where = p.line > 0 ? `${p.file}:${p.line}` : p.file;
  return p.field ? `${where}: ${p.field}: ${p.message}` : `${where}: ${p.message}`;
}
