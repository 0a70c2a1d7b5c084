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
