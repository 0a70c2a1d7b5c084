import { readdirSync, readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import { createGenerator } from 'ts-json-schema-generator';
import { parse as parseYaml } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildDashboards, dashboardText } from '../../scripts/dashboards/build-dashboards.ts';
import { REPO_ROOT } from '../helpers/child-process.ts';
import { exportedSeries, recordedSeries, selectorsOf, seriesProblems, withoutGrafanaVariables } from './series-check.ts';

const DIR = `${REPO_ROOT}dashboards/`;
const FILES = ['agent-safety-overview.json', 'breakers.json', 'pipeline-health.json'];
/** Panel plugins that ship with Grafana (the dashboards use no other). */
const CORE_PANELS = new Set(['row', 'timeseries', 'stat', 'gauge', 'bargauge', 'table', 'state-timeline', 'text']);

type Panel = { type: string; id: number; title?: string; targets?: { refId?: string; expr?: string; datasource?: unknown }[]; panels?: Panel[]; gridPos?: { x: number; y: number; w: number; h: number } };

function panelsOf(d: { panels?: Panel[] }): Panel[] {
  return (d.panels ?? []).flatMap((p) => [p, ...(p.panels ?? [])]);
}

/**
 * Grafana's dashboard schema: the JSON Schema of @grafana/schema's `Dashboard` type, generated here with
 * ts-json-schema-generator (extra properties are refused, as the type does not allow them).
 */
function grafanaDashboardSchema(): object {
  return createGenerator({
    path: `${REPO_ROOT}node_modules/@grafana/schema/dist/types/raw/dashboard/x/types.gen.d.ts`,
    type: 'Dashboard',
    skipTypeCheck: true,
    expose: 'export',
    topRef: true,
  }).createSchema('Dashboard');
}

describe('Grafana dashboards (dashboards/)', () => {
  const dashboards = Object.fromEntries(FILES.map((f) => [f, JSON.parse(readFileSync(DIR + f, 'utf8')) as { uid: string; title: string; panels: Panel[] }]));
  let validate: ReturnType<Ajv['compile']>;
  beforeAll(() => {
    const ajv = new Ajv({ allErrors: true, strict: false });
    validate = ajv.compile(grafanaDashboardSchema());
  });

  it('are the three dashboards, exactly as scripts/dashboards/build-dashboards.ts writes them', () => {
    expect(readdirSync(DIR).filter((f) => f.endsWith('.json')).sort()).toEqual([...FILES].sort());
    const built = buildDashboards();
    for (const f of FILES) expect(readFileSync(DIR + f, 'utf8'), `${f}: run node scripts/dashboards/build-dashboards.ts`).toBe(dashboardText(built[f]!));
    expect(FILES.map((f) => dashboards[f]!.title)).toEqual(['vigil / Agent safety overview', 'vigil / Breakers', 'vigil / Pipeline health']);
  });

  it("each validates against Grafana's dashboard schema (@grafana/schema)", () => {
    for (const f of FILES) {
      const ok = validate(dashboards[f]);
      expect(ok, `${f}: ${JSON.stringify(validate.errors?.slice(0, 5), null, 1)}`).toBe(true);
    }
  });

  it('the schema check is real: it refuses a dashboard with a wrong field', () => {
    const broken = structuredClone(dashboards['breakers.json']!) as Record<string, unknown>;
    broken.schemaVersion = 'forty-two';
    expect(validate(broken)).toBe(false);
    const extra = { ...structuredClone(dashboards['breakers.json']!), panelz: [] };
    expect(validate(extra)).toBe(false);
    const noType = structuredClone(dashboards['breakers.json']!);
    delete (noType.panels[1] as Partial<Panel>).type;
    expect(validate(noType)).toBe(false);
  });

  it('has unique uids and panel ids, core panel types, non-overlapping panels and a query per panel', () => {
    expect(new Set(FILES.map((f) => dashboards[f]!.uid)).size).toBe(FILES.length);
    for (const f of FILES) {
      const panels = panelsOf(dashboards[f]!);
      expect(new Set(panels.map((p) => p.id)).size, f).toBe(panels.length);
      for (const p of panels) {
        expect(CORE_PANELS.has(p.type), `${f}: panel type ${p.type}`).toBe(true);
        if (p.type === 'row') continue;
        expect(p.targets?.length, `${f}: ${p.title} has no query`).toBeGreaterThan(0);
        for (const t of p.targets!) expect(t.expr, `${f}: ${p.title}`).toMatch(/\S/);
      }
      const cells = new Set<string>();
      for (const p of panels) {
        const g = p.gridPos!;
        expect(g.x + g.w, `${f}: ${p.title} is wider than the grid`).toBeLessThanOrEqual(24);
        for (let x = g.x; x < g.x + g.w; x++) for (let y = g.y; y < g.y + g.h; y++) {
          expect(cells.has(`${x},${y}`), `${f}: ${p.title} overlaps another panel at ${x},${y}`).toBe(false);
          cells.add(`${x},${y}`);
        }
      }
    }
  });

  it('every PromQL expression parses and reads only series vigil exports or the shipped recording rules define', () => {
    const exported = exportedSeries();
    const recorded = recordedSeries();
    const problems: string[] = [];
    let exprs = 0;
    for (const f of FILES) {
      for (const p of panelsOf(dashboards[f]!)) for (const t of p.targets ?? []) {
        exprs++;
        problems.push(...seriesProblems(t.expr!, exported, recorded).map((s) => `${f} "${p.title}": ${s}`));
      }
    }
    expect(problems).toEqual([]);
    expect(exprs).toBeGreaterThan(30);
  });

  it('the series check catches an unknown metric, a wrong label and a syntax error', () => {
    const exported = exportedSeries();
    const recorded = recordedSeries();
    expect(seriesProblems('sum(rate(vigil_no_such_metric_total[5m]))', exported, recorded)).toHaveLength(1);
    expect(seriesProblems('sum(rate(vigil_actions_total{risk="high"}[5m]))', exported, recorded)[0]).toMatch(/no label "risk"/);
    expect(seriesProblems('vigil:reversal_rate:ratio_rate1h', exported, recorded)).toEqual([]);
    expect(() => selectorsOf('sum(rate(vigil_actions_total[5m])')).toThrow(/syntax error/);
    expect(selectorsOf(withoutGrafanaVariables('rate(vigil_actions_total[$__rate_interval])'))).toEqual([{ name: 'vigil_actions_total', labels: [] }]);
  });

  it('alert and recording rules read only series vigil exports or the rules record', () => {
    const exported = exportedSeries();
    const recorded = recordedSeries();
    const problems: string[] = [];
    for (const file of ['vigil.rules.yml', 'vigil.alerts.yml']) {
      const doc = parseYaml(readFileSync(`${REPO_ROOT}alerts/${file}`, 'utf8')) as { groups: { rules: { expr: string; alert?: string; record?: string }[] }[] };
      for (const r of doc.groups.flatMap((g) => g.rules)) problems.push(...seriesProblems(r.expr, exported, recorded).map((s) => `${file} ${r.alert ?? r.record}: ${s}`));
    }
    expect(problems).toEqual([]);
  });

  it('provisioning points Grafana at the dashboards folder and the Prometheus datasource', () => {
    const prov = parseYaml(readFileSync(`${DIR}provisioning/dashboards/vigil.yml`, 'utf8')) as { providers: { type: string; options: { path: string } }[] };
    expect(prov.providers[0]).toMatchObject({ type: 'file', options: { path: '/var/lib/grafana/dashboards/vigil' } });
    const ds = parseYaml(readFileSync(`${DIR}provisioning/datasources/prometheus.yml`, 'utf8')) as { datasources: { type: string; url: string }[] };
    expect(ds.datasources[0]).toMatchObject({ type: 'prometheus', url: 'http://prometheus:9090' });
  });
});
