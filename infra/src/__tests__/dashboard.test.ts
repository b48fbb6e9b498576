import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { parse } from 'yaml';

const repoRoot = path.resolve(__dirname, '..', '..', '..');
const observability = path.join(repoRoot, 'infra', 'observability');
const read = (...parts: string[]) => readFileSync(path.join(...parts), 'utf8');

interface Panel {
  type: string;
  title: string;
  datasource?: { type: string; uid: string };
  targets?: { expr?: string; datasource?: { uid: string } }[];
}

/** Every .ts file under `dir`, tests and generated code left out: the code that runs. */
function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory())
      return entry.name === '__tests__' || entry.name === '__generated__' ? [] : sources(full);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') ? [full] : [];
  });
}

/**
 * The metrics the platform's code defines: every `name: 'waooaw_…'` of a metric (or the constant it
 * names, `…_METRIC = 'waooaw_…'`), and which of them are histograms (`new Histogram({ name: … })`),
 * whose series Prometheus reads as `_bucket`, `_sum` and `_count`.
 */
function platformMetrics(): { names: Set<string>; histograms: Set<string> } {
  const roots = [
    path.join(repoRoot, 'shared', 'src'),
    path.join(repoRoot, 'gateway', 'src'),
    path.join(repoRoot, 'agents', 'src'),
    ...readdirSync(path.join(repoRoot, 'services'), { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => path.join(repoRoot, 'services', e.name, 'src')),
  ];
  const names = new Set<string>();
  const histograms = new Set<string>();
  for (const file of roots.flatMap(sources)) {
    const text = readFileSync(file, 'utf8');
    const constants = new Map<string, string>();
    for (const [, constant, name] of text.matchAll(/\b(\w+_METRIC)\s*=\s*'(waooaw_\w+)'/g)) {
      constants.set(constant!, name!);
      names.add(name!);
    }
    for (const [, name] of text.matchAll(/\bname:\s*'(waooaw_\w+)'/g)) names.add(name!);
    for (const [, literal, constant] of text.matchAll(
      /new Histogram\(\{\s*name:\s*(?:'(waooaw_\w+)'|(\w+_METRIC))/g,
    )) {
      const name = literal ?? constants.get(constant!);
      if (name) histograms.add(name);
    }
  }
  return { names, histograms };
}

const PROMQL_KEYWORDS = new Set([
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'offset',
  'bool',
  'and',
  'or',
  'unless',
]);

/** The metric names a PromQL expression reads (its functions, labels, strings and durations left out). */
function metricsOf(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, ' ') // label values
    .replace(/\{[^}]*\}/g, ' ') // label matchers
    .replace(/\[[^\]]*\]/g, ' ') // ranges
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' '); // label lists
  return [...stripped.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?/g)]
    .filter(([, name, call]) => !call && !PROMQL_KEYWORDS.has(name!))
    .map(([, name]) => name!);
}

describe('the Grafana dashboard and the Prometheus configuration', () => {
  const dashboard = JSON.parse(read(observability, 'grafana', 'dashboards', 'waooaw.json')) as {
    uid: string;
    title: string;
    panels: Panel[];
  };
  const panels = dashboard.panels.filter((p) => p.type !== 'row');
  const compose = parse(read(repoRoot, 'docker-compose.yml'), { merge: true }) as {
    services: Record<string, { environment?: Record<string, unknown>; volumes?: string[] }>;
  };

  it('reads the metric names of an expression', () => {
    expect(
      metricsOf(
        'histogram_quantile(0.95, sum by (le, topic) (rate(waooaw_x_bucket{outcome="a b"}[5m]))) / on (topic) waooaw_y',
      ),
    ).toEqual(['waooaw_x_bucket', 'waooaw_y']);
  });

  it('is valid JSON with panels, each with a query on the provisioned Prometheus', () => {
    expect(dashboard.uid).toBeTruthy();
    expect(panels.length).toBeGreaterThanOrEqual(10);
    const datasources = parse(
      read(observability, 'grafana', 'provisioning', 'datasources', 'datasources.yml'),
    ) as { datasources: { uid: string; type: string }[] };
    const prometheus = datasources.datasources.find((d) => d.type === 'prometheus')!;
    for (const panel of panels) {
      expect([panel.title, panel.datasource?.uid]).toEqual([panel.title, prometheus.uid]);
      expect([panel.title, (panel.targets ?? []).length > 0]).toEqual([panel.title, true]);
      for (const target of panel.targets ?? [])
        expect([panel.title, target.expr && metricsOf(target.expr).length > 0]).toEqual([panel.title, true]);
    }
  });

  it('queries only metrics the code exports', async () => {
    const { names, histograms } = platformMetrics();
    // What collectDefaultMetrics (shared/src/metrics.ts) adds to every process's registry.
    const defaults = new Registry();
    collectDefaultMetrics({ register: defaults });
    for (const metric of await defaults.getMetricsAsJSON()) {
      names.add(metric.name);
      if (String(metric.type) === 'histogram') histograms.add(metric.name);
    }
    const exported = new Set(names);
    for (const histogram of histograms)
      for (const suffix of ['_bucket', '_sum', '_count']) exported.add(histogram + suffix);
    // The patterns find what the code defines (broken, they would make every panel look wrong).
    expect([...names]).toEqual(expect.arrayContaining(['waooaw_consumer_lag', 'waooaw_breaker_state']));

    const queried = panels.flatMap((panel) =>
      (panel.targets ?? []).flatMap((t) => metricsOf(t.expr ?? '').map((m) => [panel.title, m])),
    );
    for (const [title, metric] of queried)
      expect([title, metric, exported.has(metric!)]).toEqual([title, metric, true]);

    // An operator's questions, each answered by a panel.
    const used = new Set(queried.map(([, m]) => m!.replace(/_(bucket|sum|count)$/, '')));
    for (const metric of [
      'waooaw_consumer_lag',
      'waooaw_event_handler_duration_seconds',
      'waooaw_event_handler_errors_total',
      'waooaw_events_dead_lettered_total',
      'waooaw_outbox_pending_entries',
      'waooaw_tasks_finished_total',
      'waooaw_task_duration_seconds',
      'waooaw_breaker_state',
      'waooaw_graphql_operation_duration_seconds',
      'waooaw_gateway_subscriptions_active',
    ])
      expect([metric, used.has(metric)]).toEqual([metric, true]);
  });

  it('scrapes every service of docker-compose.yml that serves /metrics, on its METRICS_PORT', () => {
    const prometheus = parse(read(observability, 'prometheus.yml')) as {
      scrape_configs: { job_name: string; static_configs?: { targets: string[] }[] }[];
    };
    const targets = new Set(
      prometheus.scrape_configs.flatMap((job) => (job.static_configs ?? []).flatMap((c) => c.targets)),
    );
    const serving = Object.entries(compose.services)
      .filter(([, service]) => service.environment?.METRICS_PORT !== undefined)
      .map(([name, service]) => `${name}:${String(service.environment!.METRICS_PORT)}`);
    expect(serving.length).toBeGreaterThanOrEqual(8);
    for (const target of serving) expect([target, targets.has(target)]).toEqual([target, true]);
    // And nothing that is not there: each target is a compose service (or Prometheus itself).
    for (const target of targets) {
      const host = target.slice(0, target.lastIndexOf(':'));
      expect([target, host === '127.0.0.1' || host in compose.services]).toEqual([target, true]);
    }
  });

  it('mounts the files Grafana and Prometheus are provisioned from', () => {
    const mounts = (name: string) =>
      (compose.services[name]?.volumes ?? [])
        .map((v) => v.split(':'))
        .filter(([from]) => from!.startsWith('./'));
    expect(mounts('prometheus')).toEqual(
      expect.arrayContaining([
        ['./infra/observability/prometheus.yml', '/etc/prometheus/prometheus.yml', 'ro'],
      ]),
    );
    const grafana = new Map(mounts('grafana').map(([from, to]) => [from, to]));
    expect(grafana.get('./infra/observability/grafana/provisioning')).toBe('/etc/grafana/provisioning');
    const providers = parse(
      read(observability, 'grafana', 'provisioning', 'dashboards', 'dashboards.yml'),
    ) as {
      providers: { options: { path: string } }[];
    };
    expect(providers.providers.map((p) => p.options.path)).toEqual([
      grafana.get('./infra/observability/grafana/dashboards'),
    ]);
  });

  it('links to nothing outside the compose network', () => {
    const files = [
      path.join(repoRoot, 'docker-compose.yml'),
      path.join(observability, 'prometheus.yml'),
      path.join(observability, 'grafana', 'provisioning', 'datasources', 'datasources.yml'),
      path.join(observability, 'grafana', 'provisioning', 'dashboards', 'dashboards.yml'),
      path.join(observability, 'grafana', 'dashboards', 'waooaw.json'),
    ];
    for (const file of files)
      for (const [url, host] of readFileSync(file, 'utf8').matchAll(/https?:\/\/([^/:'"\s]+)/g))
        expect([
          file,
          url,
          host === '127.0.0.1' || host === 'localhost' || host! in compose.services,
        ]).toEqual([file, url, true]);
  });
});
