import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import { loadPolicyFile, type Policy, type PolicyOptions } from './load-policy.ts';
import { PolicyError } from './policy-error.ts';

export type PolicyChangeListener = (next: Policy, previous: Policy) => void;
export type PolicyRejectListener = (error: PolicyError) => void;

/**
 * Holds the running policy. `reload()` re-reads the file: a valid file replaces the policy and calls
 * the `onChange` listeners; an invalid one is refused (PolicyError to `onReject`) and the running
 * policy stays. `watch()` reloads on SIGHUP and when the file changes.
 */
export class PolicyHolder {
  readonly path: string;
  private readonly opts: PolicyOptions;
  private policy: Policy;
  private readonly changeListeners: PolicyChangeListener[] = [];
  private readonly rejectListeners: PolicyRejectListener[] = [];
  private watcher: FSWatcher | undefined;
  private sighup: (() => void) | undefined;
  private debounce: NodeJS.Timeout | undefined;

  /** Loads the file at once. @throws PolicyError when it is invalid (refused at start). */
  constructor(path: string, opts: PolicyOptions) {
    this.path = path;
    this.opts = opts;
    this.policy = loadPolicyFile(path, opts);
  }

  current(): Policy {
    return this.policy;
  }

  /** Re-reads the file. Returns true when the policy changed (a new version). @throws PolicyError, keeping the running policy. */
  reload(): boolean {
    let next: Policy;
    try {
      next = loadPolicyFile(this.path, this.opts);
    } catch (e) {
      if (e instanceof PolicyError) for (const l of this.rejectListeners) l(e);
      throw e;
    }
    if (next.version === this.policy.version) return false;
    const previous = this.policy;
    this.policy = next;
    for (const l of this.changeListeners) l(next, previous);
    return true;
  }

  onChange(listener: PolicyChangeListener): () => void {
    this.changeListeners.push(listener);
    return () => this.changeListeners.splice(this.changeListeners.indexOf(listener) >>> 0, 1);
  }

  onReject(listener: PolicyRejectListener): () => void {
    this.rejectListeners.push(listener);
    return () => this.rejectListeners.splice(this.rejectListeners.indexOf(listener) >>> 0, 1);
  }

  /** Reloads on SIGHUP and on file change (debounced); a refused file is reported through onReject. */
  watch(): void {
    if (this.watcher) return;
    const tryReload = () => {
      try {
        this.reload();
      } catch {
        // reported to onReject listeners; the running policy stays
      }
    };
    this.sighup = tryReload;
    process.on('SIGHUP', this.sighup);
    // Watch the folder, not the file: editors and deploy tools often replace the file (write a new one,
    // rename it over), which would leave a watcher on the old file deaf.
    const name = basename(this.path);
    this.watcher = watch(dirname(this.path), (_event, file) => {
      if (file !== null && file !== name) return;
      clearTimeout(this.debounce);
      this.debounce = setTimeout(tryReload, 100);
    });
    this.watcher.on('error', () => {}); // the folder went away: SIGHUP still works
  }

  close(): void {
    clearTimeout(this.debounce);
    this.watcher?.close();
    this.watcher = undefined;
    if (this.sighup) process.off('SIGHUP', this.sighup);
    this.sighup = undefined;
  }
}
