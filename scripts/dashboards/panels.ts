/**
 * Small builders of Grafana dashboard JSON (schemaVersion 42, the shape of @grafana/schema's Dashboard),
 * so the three dashboards read as lists of panels. Every query runs on the `${datasource}` Prometheus
 * variable. Used by build-dashboards.ts only.
 */

export const DATASOURCE = { type: 'prometheus', uid: '${datasource}' } as const;

export interface Query {
  expr: string;
  legend?: string;
  /** Show the series as a table row per label set (instant query). */
  instant?: boolean;
}

export interface PanelOptions {
  title: string;
  description?: string;
  queries: Query[];
  unit?: string;
  /** Width in grid columns (of 24) and height in rows. */
  w?: number;
  h?: number;
  min?: number;
  max?: number;
  thresholds?: { color: string; value: number | null }[];
  mappings?: unknown[];
  stack?: boolean;
}

type Json = Record<string, unknown>;

function targets(queries: Query[]): Json[] {
  return queries.map((q, i) => ({
    refId: String.fromCharCode(65 + i),
    datasource: DATASOURCE,
    expr: q.expr,
    legendFormat: q.legend ?? '__auto',
    range: !q.instant,
    instant: q.instant === true,
  }));
}

function fieldConfig(o: PanelOptions, custom: Json = {}): Json {
  const defaults: Json = { custom };
  if (o.unit) defaults.unit = o.unit;
  if (o.min !== undefined) defaults.min = o.min;
  if (o.max !== undefined) defaults.max = o.max;
  if (o.thresholds) defaults.thresholds = { mode: 'absolute', steps: o.thresholds };
  if (o.mappings) defaults.mappings = o.mappings;
  return { defaults, overrides: [] };
}

/** A layout that places panels left to right, wrapping at 24 columns. */
export class Layout {
  private x = 0;
  private y = 0;
  private rowH = 0;
  private id = 0;
  readonly panels: Json[] = [];

  private place(w: number, h: number): Json {
    if (this.x + w > 24) {
      this.x = 0;
      this.y += this.rowH;
      this.rowH = 0;
    }
    const pos = { x: this.x, y: this.y, w, h };
    this.x += w;
    this.rowH = Math.max(this.rowH, h);
    return pos;
  }

  /** A row header across the full width. */
  row(title: string): void {
    if (this.x > 0) {
      this.x = 0;
      this.y += this.rowH;
      this.rowH = 0;
    }
    this.panels.push({ type: 'row', id: ++this.id, title, collapsed: false, panels: [], gridPos: { x: 0, y: this.y, w: 24, h: 1 } });
    this.y += 1;
  }

  private panel(type: string, o: PanelOptions, w: number, h: number, options: Json, custom: Json = {}): void {
    this.panels.push({
      type,
      id: ++this.id,
      title: o.title,
      ...(o.description ? { description: o.description } : {}),
      datasource: DATASOURCE,
      gridPos: this.place(o.w ?? w, o.h ?? h),
      targets: targets(o.queries),
      fieldConfig: fieldConfig(o, custom),
      options,
    });
  }

  timeseries(o: PanelOptions): void {
    this.panel('timeseries', o, 12, 8, { legend: { displayMode: 'list', placement: 'bottom', showLegend: true }, tooltip: { mode: 'multi', sort: 'desc' } }, {
      drawStyle: 'line',
      lineWidth: 1,
      fillOpacity: o.stack ? 30 : 10,
      showPoints: 'never',
      spanNulls: false,
      stacking: { mode: o.stack ? 'normal' : 'none', group: 'A' },
    });
  }

  stat(o: PanelOptions): void {
    this.panel('stat', o, 4, 4, {
      reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false },
      colorMode: 'value',
      graphMode: 'area',
      justifyMode: 'auto',
      textMode: 'auto',
      orientation: 'auto',
    });
  }

  stateTimeline(o: PanelOptions): void {
    this.panel('state-timeline', o, 24, 9, {
      mergeValues: true,
      showValue: 'auto',
      alignValue: 'left',
      rowHeight: 0.9,
      legend: { displayMode: 'list', placement: 'bottom', showLegend: true },
      tooltip: { mode: 'single', sort: 'none' },
    }, { fillOpacity: 80, lineWidth: 0 });
  }

  barGauge(o: PanelOptions): void {
    this.panel('bargauge', o, 12, 8, {
      reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false },
      orientation: 'horizontal',
      displayMode: 'gradient',
      showUnfilled: true,
      valueMode: 'color',
      namePlacement: 'auto',
      sizing: 'auto',
    });
  }

  table(o: PanelOptions): void {
    this.panel('table', o, 12, 8, { showHeader: true, cellHeight: 'sm', footer: { show: false, reducer: ['sum'], fields: '' } });
  }
}

/** A whole dashboard around its panels, with the Prometheus datasource variable. */
export function dashboard(o: { uid: string; title: string; description: string; tags: string[]; layout: Layout; refresh?: string }): Json {
  return {
    uid: o.uid,
    title: o.title,
    description: o.description,
    tags: o.tags,
    editable: true,
    graphTooltip: 1,
    schemaVersion: 42,
    version: 1,
    refresh: o.refresh ?? '30s',
    time: { from: 'now-6h', to: 'now' },
    timezone: 'browser',
    fiscalYearStartMonth: 0,
    liveNow: false,
    links: [
      { title: 'vigil dashboards', type: 'dashboards', tags: ['vigil'], asDropdown: true, icon: 'external link', includeVars: true, keepTime: true, targetBlank: false, tooltip: '', url: '' },
    ],
    annotations: {
      list: [
        {
          builtIn: 1,
          datasource: { type: 'grafana', uid: '-- Grafana --' },
          enable: true,
          hide: true,
          iconColor: 'rgba(0, 211, 255, 1)',
          name: 'Annotations & Alerts',
          type: 'dashboard',
        },
      ],
    },
    templating: {
      list: [
        { name: 'datasource', label: 'Prometheus', type: 'datasource', query: 'prometheus', hide: 0, includeAll: false, multi: false, refresh: 1, regex: '', skipUrlSync: false, options: [] },
      ],
    },
    panels: o.layout.panels,
  };
}
