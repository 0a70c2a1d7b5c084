import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { describe, expect, it } from 'vitest';
import { SETTINGS } from '../../src/config/config.ts';
import { REPO_ROOT } from '../helpers/child-process.ts';

type Service = {
  image?: string;
  build?: string | { context: string; dockerfile?: string };
  command?: string[] | string;
  environment?: Record<string, string | number | boolean>;
  ports?: string[];
  volumes?: string[];
  depends_on?: string[] | Record<string, { condition: string }>;
  profiles?: string[];
};

const compose = parseYaml(readFileSync(join(REPO_ROOT, 'docker-compose.yml'), 'utf8')) as { services: Record<string, Service> };
const services = compose.services;
const VIGIL_ENV_NAMES = new Set<string>(Object.values(SETTINGS).map((s) => s.env));

/** `[host:]hostPort:containerPort` → the host port. */
function hostPort(mapping: string): number {
  const parts = mapping.split(':');
  return Number(parts.length === 3 ? parts[1] : parts[0]);
}

/**
 * docker-compose.yml, checked without Docker: the services of the full stack, their ports, that every
 * file it mounts or builds from is in the repository, that the settings it passes to vigil are
 * settings vigil knows (src/config/config.ts SETTINGS), and that the pieces point at each other.
 */
describe('docker-compose.yml', () => {
  it('has the full stack: Kafka (KRaft), a schema registry, Redis, Prometheus, Alertmanager, Grafana, an SMTP catcher with a web UI, a trace viewer, vigil and demo traffic', () => {
    for (const name of ['kafka', 'schema-registry', 'redis', 'prometheus', 'alertmanager', 'grafana', 'mailpit', 'jaeger', 'vigil', 'demo-traffic']) {
      expect(services[name], name).toBeDefined();
      expect(services[name]!.profiles, `${name} starts with a plain "docker compose up"`).toBeUndefined();
    }
    expect(services.kafka!.environment?.KAFKA_PROCESS_ROLES).toBe('broker,controller');
    for (const [name, s] of Object.entries(services)) expect(s.image ?? s.build, name).toBeTruthy();
  });

  it('publishes each UI and endpoint on its own host port', () => {
    const expected: Record<string, number[]> = {
      kafka: [19092], 'schema-registry': [18081], redis: [6379], prometheus: [9090], alertmanager: [9093], grafana: [3000],
      mailpit: [11025, 18025], jaeger: [16686, 4318], vigil: [9464, 8088],
    };
    for (const [name, ports] of Object.entries(expected)) {
      const published = (services[name]!.ports ?? []).map(hostPort);
      for (const p of ports) expect(published, `${name} publishes ${p}`).toContain(p);
    }
    const all = Object.values(services).flatMap((s) => (s.ports ?? []).map(hostPort));
    expect(new Set(all).size, 'no host port published twice').toBe(all.length);
  });

  it('mounts and builds only files that exist in the repository (read-only mounts), and vigil is built from the Dockerfile', () => {
    let checked = 0;
    for (const [name, s] of Object.entries(services)) {
      for (const v of s.volumes ?? []) {
        const [src, , mode] = v.split(':');
        if (!src!.startsWith('.')) continue; // a named volume
        if (mode !== 'ro') continue; // a writable data directory, created at run time
        expect(existsSync(join(REPO_ROOT, src!)), `${name} mounts ${src}`).toBe(true);
        checked++;
      }
    }
    expect(checked).toBeGreaterThanOrEqual(10);
    expect(services.vigil!.build).toBe('.');
    expect(existsSync(join(REPO_ROOT, 'Dockerfile'))).toBe(true);
    expect(services['demo-traffic']!.image).toBe(services.vigil!.image);
    expect(String(services['demo-traffic']!.command)).toMatch(/scripts\/demo\/live-traffic\.ts .*produce -/);
    expect(existsSync(join(REPO_ROOT, 'scripts/demo/live-traffic.ts'))).toBe(true);
  });

  it('passes vigil only settings its config knows', () => {
    for (const name of ['vigil', 'demo-traffic']) {
      const env = Object.keys(services[name]!.environment ?? {});
      expect(env.length, name).toBeGreaterThan(0);
      for (const k of env) expect(VIGIL_ENV_NAMES.has(k), `${name}: ${k} is not in SETTINGS (src/config/config.ts)`).toBe(true);
    }
  });

  it('wires the pieces to each other: Prometheus scrapes vigil with the rules, Grafana reads Prometheus, vigil traces to Jaeger, Alertmanager mails mailpit', () => {
    const vigil = services.vigil!.environment!;
    const prom = parseYaml(readFileSync(join(REPO_ROOT, 'alerts/prometheus.yml'), 'utf8')) as {
      rule_files: string[];
      scrape_configs: { job_name: string; static_configs: { targets: string[] }[] }[];
      alerting: { alertmanagers: { static_configs: { targets: string[] }[] }[] };
    };
    const job = prom.scrape_configs.find((j) => j.job_name === 'vigil')!;
    expect(job.static_configs[0]!.targets).toEqual([`vigil:${vigil.VIGIL_METRICS_PORT}`]);
    expect(vigil.VIGIL_METRICS_HOST).toBe('0.0.0.0');
    expect(prom.alerting.alertmanagers[0]!.static_configs[0]!.targets).toEqual(['alertmanager:9093']);
    const mounted = (services.prometheus!.volumes ?? []).map((v) => v.split(':')[1]!);
    for (const f of prom.rule_files) expect(mounted, `rule file ${f} is mounted beside prometheus.yml`).toContain(`/etc/vigil-alerts/${f}`);
    expect(String(services.prometheus!.command)).toContain('--config.file=/etc/vigil-alerts/prometheus.yml');

    const ds = parseYaml(readFileSync(join(REPO_ROOT, 'dashboards/provisioning/datasources/prometheus.yml'), 'utf8')) as { datasources: { url: string }[] };
    expect(ds.datasources[0]!.url).toBe('http://prometheus:9090');
    const grafanaMounts = (services.grafana!.volumes ?? []).map((v) => v.split(':')[1]!);
    for (const f of ['agent-safety-overview.json', 'breakers.json', 'pipeline-health.json']) expect(grafanaMounts).toContain(`/var/lib/grafana/dashboards/vigil/${f}`);

    expect(vigil.VIGIL_TRACING_ENABLED).toBe('true');
    expect(vigil.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT).toBe('http://jaeger:4318/v1/traces');
    expect(vigil.KAFKA_BROKERS).toBe('kafka:29092');
    expect(String(services.kafka!.environment!.KAFKA_ADVERTISED_LISTENERS)).toContain('kafka:29092');
    const am = parseYaml(readFileSync(join(REPO_ROOT, 'alerts/alertmanager.yml'), 'utf8')) as { global: { smtp_smarthost: string } };
    expect(am.global.smtp_smarthost).toBe('mailpit:1025');
    expect(vigil.SMTP_URL).toBe('smtp://mailpit:1025');
  });
});
