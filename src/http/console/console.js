// vigil operator console: renders /console/state (pushed by /console/events) with DOM calls only.
// Every string from the server is set as text (textContent), never parsed as HTML.
'use strict';

const $ = (id) => document.getElementById(id);
let state = null;

/** An element with text children (strings become text nodes) and a few safe properties. */
function el(tag, props, ...children) {
  const e = document.createElement(tag);
  if (props) {
    if (props.className) e.className = props.className;
    if (props.title) e.title = props.title;
    if (props.href && /^(https?:\/\/|\/console\/runbooks\/[a-z_]+\.md$)/.test(props.href)) {
      e.href = props.href;
      e.target = '_blank';
      e.rel = 'noopener noreferrer';
    }
    if (props.onclick) e.addEventListener('click', props.onclick);
    if (props.type) e.type = props.type;
  }
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    e.append(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
  }
  return e;
}

/** The first few ids, and how many more. */
const some = (ids, n = 3) => ids.slice(0, n).join(', ') + (ids.length > n ? ` +${ids.length - n} more` : '');
const time = (iso) => (iso ? new Date(iso).toISOString().slice(11, 19) + 'Z' : '');
const cls = (s) => String(s).replace(/[^a-z_]/g, '');

function left(until) {
  if (!until) return '';
  const s = Math.max(0, Math.round((Date.parse(until) - Date.now()) / 1000));
  return s >= 3600 ? `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min` : s >= 60 ? `${Math.floor(s / 60)} min ${s % 60} s` : `${s} s`;
}

function kindCell(kind, runbook) {
  return runbook ? el('a', { href: runbook, title: 'runbook' }, kind) : el('span', null, kind);
}

function fill(tbody, rows, empty) {
  tbody.replaceChildren(...rows);
  empty.hidden = rows.length > 0;
  tbody.closest('table').hidden = rows.length === 0;
}

function prefill(action, scope, id) {
  const f = $('override');
  f.elements.action.value = action;
  f.elements.scope.value = scope;
  f.elements.id.value = id;
  f.elements.reason.focus();
}

function renderBreakers(list) {
  $('n-breakers').textContent = `(${list.length})`;
  const rows = list.map((b) => {
    const r = b.reason;
    const why = r ? r.summary : b.note ? `${b.actor}: ${b.note}` : '';
    const evidence = r ? [
      r.observed !== null && r.threshold !== null ? `observed ${r.observed} (threshold ${r.threshold})` : '',
      r.findingIds.length ? `findings ${some(r.findingIds)}` : '',
      r.traceIds.length ? `traces ${some(r.traceIds, 2)}` : '',
    ].filter(Boolean).join(' · ') : `by ${b.actor}`;
    return el('tr', { className: 'breaker' },
      el('td', { className: 'mono' }, `${b.scope}:${b.id}`),
      el('td', { className: `state-${cls(b.effectiveState)}` }, b.effectiveState),
      el('td', { className: 'left', title: b.until || '' }, left(b.until)),
      el('td', { className: 'summary' }, r ? kindCell(r.kind, b.runbook) : null, r ? ': ' : '', why),
      el('td', { className: 'ids' }, evidence),
      el('td', null,
        el('button', { type: 'button', onclick: () => prefill('force-open', b.scope, b.id) }, 'force open'),
        el('button', { type: 'button', onclick: () => prefill('force-close', b.scope, b.id) }, 'force close'),
        el('button', { type: 'button', onclick: () => prefill('reset', b.scope, b.id) }, 'reset')));
  });
  fill($('breakers').tBodies[0], rows, $('no-breakers'));
}

function renderIncidents(list) {
  $('n-incidents').textContent = `(${list.length})`;
  const rows = list.map((i) => el('tr', { className: 'incident' },
    el('td', null, kindCell(i.kind, i.runbook)),
    el('td', { className: 'mono' }, `${i.scope.type}:${i.scope.id}`),
    el('td', { className: `sev-${cls(i.severity)}` }, i.severity),
    el('td', null, i.state),
    el('td', null, i.findings),
    el('td', null, time(i.lastAt)),
    el('td', { className: 'summary' }, i.summary),
    el('td', { className: 'mono' }, i.breakers.join(', ')),
    el('td', null, ...(i.compensations.length ? i.compensations.map((c) => el('div', { className: `saga-${cls(c.state)}` },
      `${c.kind} ${c.action} at ${c.vendor}: ${c.state}${c.attempts > 1 ? ` (${c.attempts} attempts)` : ''}`)) : [el('span', { className: 'muted' }, 'none')]))));
  fill($('incidents').tBodies[0], rows, $('no-incidents'));
}

function renderFindings(list, problem) {
  $('n-findings').textContent = `(${list.length})`;
  $('findings-problem').hidden = !problem;
  $('findings-problem').textContent = problem || '';
  const rows = list.map((f) => el('tr', { className: 'finding' },
    el('td', null, time(f.detectedAt)),
    el('td', { className: `sev-${cls(f.severity)}` }, f.severity, f.shadow ? ' (shadow)' : ''),
    el('td', null, kindCell(f.kind, f.runbook)),
    el('td', { className: 'mono' }, `${f.scope.type}:${f.scope.id}`),
    el('td', { className: 'summary' }, f.summary),
    el('td', { className: 'ids' }, `events ${some(f.eventIds)}`, f.target ? ` · undo ${f.target.action} at ${f.target.vendor} (${f.target.eventId})` : '')));
  fill($('findings').tBodies[0], rows, $('no-findings'));
}

function render(s) {
  state = s;
  renderBreakers(s.breakers);
  renderIncidents(s.incidents);
  renderFindings(s.findings, s.findingsProblem);
  $('updated').textContent = `updated ${time(s.now)}`;
}

function connected(on) {
  $('status').textContent = on ? 'live' : 'reconnecting…';
  $('status').className = `pill ${on ? 'on' : 'off'}`;
}

async function poll() {
  try {
    const r = await fetch('/console/state', { cache: 'no-store' });
    if (r.ok) render(await r.json());
  } catch { /* the next poll or event tries again */ }
}

function live() {
  if (!window.EventSource) {
    setInterval(poll, 3000);
    return void poll();
  }
  const es = new EventSource('/console/events');
  es.addEventListener('state', (m) => {
    connected(true);
    render(JSON.parse(m.data));
  });
  es.addEventListener('error', () => connected(false));
}

async function override(ev) {
  ev.preventDefault();
  const f = ev.target.elements;
  const out = $('override-result');
  const action = f.action.value;
  const body = { actor: f.actor.value, reason: f.reason.value };
  if (action !== 'reset') body.ttlSeconds = Math.round(Number(f.minutes.value) * 60);
  out.className = 'muted';
  out.textContent = 'sending…';
  try {
    const r = await fetch(`/v1/breakers/${encodeURIComponent(f.scope.value)}/${encodeURIComponent(f.id.value)}/${action}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${f.token.value}` },
      body: JSON.stringify(body),
    });
    const answer = await r.json().catch(() => ({}));
    out.className = r.ok ? 'ok' : 'error';
    out.textContent = r.ok ? `${action}: ${f.scope.value}:${f.id.value} is now ${(answer.breaker && answer.breaker.effectiveState) || 'closed'}` : `refused (${r.status}): ${answer.error || r.statusText}`;
    if (r.ok) void poll();
  } catch (e) {
    out.className = 'error';
    out.textContent = `failed: ${e.message}`;
  }
}

document.addEventListener('DOMContentLoaded', () => {
  $('override').addEventListener('submit', override);
  // time left ticks between pushes
  setInterval(() => {
    for (const td of document.querySelectorAll('#breakers td.left')) td.textContent = left(td.title);
  }, 1000);
  void poll();
  live();
});
