import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { LauncherOptions } from '../index';
import { down, freePorts, launcherOptions, MissingToolError, status, up } from '../index';
import { newClusterId } from '../servers';
import { requireJava, requireMaven } from '../tools';

/**
 * The launcher against real servers on free ports of their own (never the suite's servers, nor those
 * `npm start` or another test run keeps on theirs), with a state folder of their own.
 */
describe('infra launcher', () => {
  let stateDir: string;
  let opts: LauncherOptions;

  beforeAll(async () => {
    stateDir = mkdtempSync(path.join(os.tmpdir(), 'waooaw-launcher-test-'));
    const [kafkaPort, controllerPort, mongoPort] = (await freePorts(3)) as [number, number, number];
    opts = launcherOptions({ env: {}, stateDir, ephemeral: true, kafkaPort, controllerPort, mongoPort });
  });

  afterAll(async () => {
    await down(opts);
    rmSync(stateDir, { recursive: true, force: true });
  });

  it('up, status and down are idempotent and stop only what they started', async () => {
    expect((await status(opts)).map((s) => s.state)).toEqual(['stopped', 'stopped']);

    const first = await up(opts);
    expect(first.started.sort()).toEqual(['kafka', 'mongo']);
    expect(first.kafkaBrokers).toBe(`127.0.0.1:${opts.kafkaPort}`);
    expect(first.mongoUrl).toBe(`mongodb://127.0.0.1:${opts.mongoPort}`);
    const kafkaLog = first.statuses.find((s) => s.name === 'kafka')!.logFile!;
    expect(readFileSync(kafkaLog, 'utf8')).toContain('Kafka Server started');

    const second = await up(opts);
    expect(second.started).toEqual([]);
    expect(second.statuses.map((s) => s.pid)).toEqual(first.statuses.map((s) => s.pid));

    const running = await status(opts);
    expect(running.map((s) => [s.name, s.state, s.managed])).toEqual([
      ['kafka', 'running', true],
      ['mongo', 'running', true],
    ]);

    expect((await down(opts)).sort()).toEqual(['kafka', 'mongo']);
    expect(await down(opts)).toEqual([]);
    expect((await status(opts)).map((s) => s.state)).toEqual(['stopped', 'stopped']);
  });

  it('starts nothing for servers named by KAFKA_BROKERS / MONGO_URL', async () => {
    const shared = { KAFKA_BROKERS: process.env.KAFKA_BROKERS!, MONGO_URL: process.env.MONGO_URL! };
    const external = launcherOptions({ ...opts, env: shared });
    const result = await up(external);
    expect(result.started).toEqual([]);
    expect(result.kafkaBrokers).toBe(shared.KAFKA_BROKERS);
    expect(result.statuses.map((s) => s.state)).toEqual(['external', 'external']);
    expect(await down(external)).toEqual([]);
  });

  it('never makes a cluster id that a command line would take for an option', () => {
    const ids = Array.from({ length: 2000 }, () => newClusterId());
    for (const id of ids) expect(id).toMatch(/^[A-Za-z0-9_][A-Za-z0-9_-]{21}$/);
  });

  it('names the missing tool when java or mvn is not installed', () => {
    const noTools = { PATH: '/nonexistent' };
    expect(() => requireJava(noTools)).toThrow(MissingToolError);
    expect(() => requireJava(noTools)).toThrow(/java is required/);
    expect(() => requireMaven(noTools)).toThrow(/mvn \(Apache Maven\) is required/);
  });
});
