import type { DemoSnapshot } from './demo-state.ts';

/**
 * The demo's live terminal view: redrawn in place on a terminal, a plain progress line (and a line
 * per new finding) otherwise. Pure rendering; demo.ts feeds it snapshots.
 */

const secs = (ms: number) => `${Math.floor(ms / 60_000)}:${String(Math.floor((ms % 60_000) / 1000)).padStart(2, '0')}`;
const clip = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);
/** Event-derived text on a terminal: no control characters (an id could carry escape sequences). */
export const printable = (s: string): string => s.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');

/** The lines of the live view. */
export function renderView(s: DemoSnapshot, width = 110): string[] {
  const found = s.scenarios.filter((x) => x.foundAfterMs !== undefined).length;
  const lines = [
    `vigil demo  ${secs(s.trafficMs)} / ${secs(s.trafficTotalMs)}   events: ${s.published} published (${s.publishedPerSecond}/s), ${s.consumed} consumed (${s.consumedPerSecond}/s)`,
    `scenarios found: ${found} of ${s.scenarios.length} injected   findings: ${s.findings.length}${s.unexpected.length ? `   UNEXPECTED: ${s.unexpected.length}` : ''}`,
  ];
  const kinds = Object.entries(s.findingsByKind).sort(([a], [b]) => a.localeCompare(b));
  for (let i = 0; i < kinds.length; i += 3) lines.push('  ' + kinds.slice(i, i + 3).map(([k, n]) => `${k} ${n}`.padEnd(34)).join(''));
  lines.push(`breakers open: ${s.breakers.length}`);
  for (const b of s.breakers.slice(0, 8)) {
    const left = b.until ? `${Math.max(0, Math.round((Date.parse(b.until) - Date.now()) / 1000))} s left` : '';
    const why = b.reason ? b.reason.summary : b.note ? `${b.actor}: ${b.note}` : '';
    lines.push(clip(`  ${printable(`${b.scope}:${b.id}`).padEnd(26)} ${b.effectiveState.padEnd(11)} ${left.padEnd(11)} ${printable(why)}`, width));
  }
  if (s.breakers.length > 8) lines.push(`  … and ${s.breakers.length - 8} more`);
  const c = s.compensations;
  lines.push(`compensations: ${c.requested} asked, ${c.answered} answered by the vendors, ${c.succeeded} succeeded, ${c.failed} failed`);
  lines.push(`e-mails: ${s.emails.sent} sent${s.emails.failed ? `, ${s.emails.failed} failed` : ''}   alerts: ${s.alerts ? `${s.alerts.sent} pushed to Alertmanager` : 'no Alertmanager configured'}`);
  return lines;
}

/** Draws the view in place: moves the cursor up over the previous frame and clears below it. */
export class InPlaceView {
  private drawn = 0;
  private readonly out: { write(s: string): unknown };

  constructor(out: { write(s: string): unknown }) {
    this.out = out;
  }

  draw(lines: readonly string[]): void {
    const up = this.drawn > 0 ? `\u001b[${this.drawn}F` : '';
    this.out.write(`${up}\u001b[J${lines.join('\n')}\n`);
    this.drawn = lines.length;
  }

  /** Forgets the frame: what follows is printed below it. */
  release(): void {
    this.drawn = 0;
  }
}

/** A plain progress line (not a terminal: CI logs, pipes). */
export function progressLine(s: DemoSnapshot): string {
  const found = s.scenarios.filter((x) => x.foundAfterMs !== undefined).length;
  return `[${secs(s.trafficMs)}] ${s.published} events published (${s.publishedPerSecond}/s), ${s.consumed} consumed; ${s.findings.length} findings; scenarios found ${found}/${s.scenarios.length}; ${s.breakers.length} breakers open; compensations ${s.compensations.succeeded} succeeded; e-mails ${s.emails.sent} sent`;
}
