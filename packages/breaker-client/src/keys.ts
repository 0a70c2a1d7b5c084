/**
 * The Redis keys of the breakers (protocol v1): `<prefix>:brk:{<scope>:<id>}:<what>`. The part in
 * braces is the Redis Cluster hash tag, so one breaker's keys share a slot and every script works on a
 * cluster. The prefix (default `vigil`) lets several deployments share one Redis. Changing this layout
 * is a new protocol version.
 */
export class BreakerKeys {
  readonly prefix: string;
  constructor(prefix = 'vigil') {
    if (!/^[A-Za-z0-9_.-]+$/.test(prefix)) throw new Error(`invalid Redis key prefix "${prefix}" (letters, digits, '_', '.', '-')`);
    this.prefix = prefix;
  }

  /** The hash holding one breaker's state: `<prefix>:brk:{<scope>:<id>}:state`. No key means closed. */
  state(scope: string, id: string): string {
    return `${this.prefix}:brk:{${scope}:${id}}:state`;
  }

  /** Hash of the findings applied to one breaker (findingId → trip transition JSON or ''); same hash tag as its state. */
  findings(scope: string, id: string): string {
    return `${this.prefix}:brk:{${scope}:${id}}:findings`;
  }

  /**
   * The breaker's audit outbox: a stream of the transitions the operator overrides made (field
   * `transition`, the JSON as published), appended by the override script in the same step as the change,
   * deleted once the record is on the Kafka audit topic. Same hash tag as its state.
   */
  audit(scope: string, id: string): string {
    return `${this.prefix}:brk:{${scope}:${id}}:audit`;
  }

  /**
   * Sorted set of the breakers whose audit outbox may hold records (members `<scope>:<id>`, score the
   * latest write deadline of an override on it): what the monitor's relay reads. Like the index, it is in
   * a slot of its own and written beside the script; the relay drops a member once its stream is empty
   * and its deadline is past (no write can append to it any more).
   */
  auditPending(): string {
    return `${this.prefix}:brk:audit-pending`;
  }

  /** The lease of the one monitor that relays the audit outboxes. */
  auditRelayLease(): string {
    return `${this.prefix}:brk:audit-relay-lease`;
  }

  /**
   * Set of every stored breaker (members `<scope>:<id>`): what listing reads instead of SCAN. It lives in
   * a slot of its own, so the breaker scripts (whose keys share the breaker's hash tag) cannot write it:
   * the monitor adds the member beside the script that may create the hash, and the lister drops members
   * whose hash is gone.
   */
  index(): string {
    return `${this.prefix}:brk:index`;
  }

  /** Pub/sub channel on which every breaker transition is published (JSON). */
  transitionsChannel(): string {
    return `${this.prefix}:brk:transitions`;
  }
}
