import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { discoverServices } from '../platform';
import { KAFKA_VERSION } from '../versions';

const repoRoot = path.resolve(__dirname, '..', '..', '..');
const composeFile = path.join(repoRoot, 'docker-compose.yml');

interface ComposeService {
  image?: string;
  build?: unknown;
  volumes?: string[];
  ports?: string[];
  environment?: Record<string, unknown>;
  healthcheck?: { test?: unknown };
}

/** Secrets set for the `docker-compose config` runs, as an operator would. */
const OPERATOR_SECRETS = {
  CALLER_TOKEN_SECRET: 'an-operator-caller-token-secret-of-32-chars',
  JWT_SECRET: 'an-operator-client-jwt-secret-of-32-chars!',
  GRAFANA_ADMIN_PASSWORD: 'an-operator-grafana-password',
};

/** The observability services and the UI port each publishes on the host's loopback interface. */
const OBSERVABILITY_UIS = { prometheus: 9090, grafana: 3000, jaeger: 16686 };

describe('docker-compose.yml', () => {
  // merge: the services share their environment through `<<: *service-env`.
  const compose = parse(readFileSync(composeFile, 'utf8'), { merge: true }) as {
    services: Record<string, ComposeService>;
  };

  it('runs the same Kafka version as the launcher, MongoDB 8, and a healthcheck on every service', () => {
    expect(compose.services.kafka?.image).toBe(`apache/kafka:${KAFKA_VERSION}`);
    expect(compose.services.mongo?.image).toBe('mongo:8');
    for (const [name, service] of Object.entries(compose.services)) {
      expect([name, Boolean(service.healthcheck?.test)]).toEqual([name, true]);
    }
  });

  it('runs every process `npm start` runs', () => {
    const names = discoverServices().map((s) => s.name);
    expect(names).toEqual(
      expect.arrayContaining(['gateway', 'identity', 'factory', 'discovery', 'agents-runtime']),
    );
    for (const name of names) expect([name, name in compose.services]).toEqual([name, true]);
  });

  it('publishes only the gateway to the network, in production, with every secret required from the operator', () => {
    const published = Object.entries(compose.services)
      .filter(([, service]) => (service.ports ?? []).length > 0)
      .map(([name, service]) => [name, service.ports]);
    // The observability UIs are on the loopback interface only: reachable from the host (a tunnel).
    expect(published).toEqual([
      ['gateway', ['4000:4000']],
      ...Object.entries(OBSERVABILITY_UIS).map(([name, port]) => [name, [`127.0.0.1:${port}:${port}`]]),
    ]);
    const platform = Object.entries(compose.services).filter(([, service]) => service.build !== undefined);
    expect(platform.length).toBeGreaterThanOrEqual(8);
    for (const [name, service] of platform) {
      expect([name, service.environment?.NODE_ENV]).toEqual([name, 'production']);
      const secrets = Object.entries(service.environment ?? {}).filter(([key]) => /SECRET/.test(key));
      expect([name, secrets.length > 0]).toEqual([name, true]);
      for (const [key, value] of secrets)
        expect([name, key, value]).toEqual([
          name,
          key,
          expect.stringMatching(`^\\$\\{${key}:\\?set ${key} `),
        ]);
    }
  });

  it('runs Prometheus, Grafana and Jaeger (OTLP on) from pinned images, with their config from the repository', () => {
    for (const name of Object.keys(OBSERVABILITY_UIS)) {
      const image = compose.services[name]?.image ?? '';
      expect([name, /:v?\d+\.\d+\.\d+$/.test(image)]).toEqual([name, true]);
    }
    expect(compose.services.jaeger?.environment?.COLLECTOR_OTLP_ENABLED).toBe('true');
    // Grafana's admin password is the operator's, like the platform's secrets.
    expect(compose.services.grafana?.environment?.GF_SECURITY_ADMIN_PASSWORD).toMatch(
      /^\$\{GRAFANA_ADMIN_PASSWORD:\?set GRAFANA_ADMIN_PASSWORD /,
    );
    for (const name of ['prometheus', 'grafana'])
      for (const volume of compose.services[name]?.volumes ?? []) {
        const from = volume.split(':')[0]!;
        if (from.startsWith('./'))
          expect([volume, existsSync(path.join(repoRoot, from))]).toEqual([volume, true]);
      }
  });

  // Debian's docker-compose validates a file without a Docker engine. CI installs it (.ci/run), so
  // there the check is mandatory; elsewhere it runs when the tool is present.
  const validator = spawnSync('docker-compose', ['version'], { encoding: 'utf8' });
  const available = !validator.error && validator.status === 0;
  const config = (env: NodeJS.ProcessEnv) =>
    spawnSync('docker-compose', ['-f', composeFile, 'config', '-q'], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH, ...env },
    });
  (available || process.env.CI ? it : it.skip)('passes `docker-compose config`', () => {
    const result = config(OPERATOR_SECRETS);
    expect(result.error).toBeUndefined();
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
  });
  (available || process.env.CI ? it : it.skip)('refuses to start without the operator’s secrets', () => {
    const result = config({ CALLER_TOKEN_SECRET: OPERATOR_SECRETS.CALLER_TOKEN_SECRET });
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain('set JWT_SECRET');
  });
});
