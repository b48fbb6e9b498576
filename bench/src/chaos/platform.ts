import type { ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import type { LauncherOptions, PlatformService, UpResult } from '@waooaw/infra';
import {
  discoverServices,
  down,
  launcherOptions,
  platformAddresses,
  spawnService,
  status,
  up,
  waitServiceReady,
} from '@waooaw/infra';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function answersReady(port: number): Promise<boolean> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/health/ready`, { signal: AbortSignal.timeout(2000) });
    return res.ok;
  } catch {
    return false;
  }
}

const exited = (child: ChildProcess) =>
  new Promise<void>((resolve) =>
    child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', () => resolve()),
  );

export interface ChaosPlatformOptions {
  /** Where Kafka's and MongoDB's data, logs and process records go (removed by stop()). */
  stateDir: string;
  kafkaPort: number;
  controllerPort: number;
  mongoPort: number;
  portOffset: number;
  /** Extra ports (spareOffset past a service's) for the second replica of a rolling restart. */
  spareOffset: number;
  log: (line: string) => void;
  /** Where the services' output goes. */
  out: (line: string) => void;
}

/**
 * A whole platform the chaos run owns and breaks: its own Kafka and MongoDB (persistent data in the
 * run's state dir, so a killed server restarts on the same data), and every service as a child
 * process it can kill, freeze, restart on the same port with the same settings, or double during a
 * rolling restart. Nothing here touches servers it did not start.
 */
export function chaosPlatform(options: ChaosPlatformOptions) {
  const { log } = options;
  // The run's own servers whatever KAFKA_BROKERS / MONGO_URL say: it kills and freezes them.
  const env = { ...process.env };
  delete env.KAFKA_BROKERS;
  delete env.MONGO_URL;
  // Its own servers need no namespace; the topic readers below use plain names.
  delete env.WAOOAW_NAMESPACE;
  const launcher: LauncherOptions = launcherOptions({
    env,
    host: '127.0.0.1',
    kafkaPort: options.kafkaPort,
    controllerPort: options.controllerPort,
    mongoPort: options.mongoPort,
    ephemeral: false,
    stateDir: options.stateDir,
    log: (msg) => log(`[infra] ${msg}`),
  });
  const { services: all, env: addresses } = platformAddresses(discoverServices(), options.portOffset);
  let infra: UpResult | undefined;
  /** The running process(es) of each service, oldest first (two only during a rolling restart). */
  const running = new Map<string, { service: PlatformService; child: ChildProcess }[]>();
  let serviceEnv: NodeJS.ProcessEnv = {};

  const spawnOne = (service: PlatformService) => {
    const child = spawnService(service, serviceEnv, options.out, {
      // The run is one client sending a hundred requests a second and opening 50 sockets: the
      // production per-caller limits would measure the rate limiter instead.
      env:
        service.name === 'gateway'
          ? { RATE_LIMIT_PER_MINUTE: '10000000', RATE_LIMIT_BURST: '100000' }
          : undefined,
    });
    child.once('exit', (code, signal) =>
      options.out(`[chaos] ${service.name} (port ${service.port}) exited (${signal ?? `code ${code}`})`),
    );
    const list = running.get(service.name) ?? [];
    list.push({ service, child });
    running.set(service.name, list);
    return child;
  };

  const pidOf = async (name: 'kafka' | 'mongo') => {
    const s = (await status(launcher)).find((x) => x.name === name);
    if (!s?.managed || s.pid === undefined) throw new Error(`${name} is not one the chaos run started`);
    return s.pid;
  };

  const serviceNamed = (name: string) => {
    const s = all.find((x) => x.name === name);
    if (!s) throw new Error(`no service ${name}`);
    return s;
  };

  return {
    services: all,
    get brokers() {
      return infra!.kafkaBrokers.split(',');
    },
    get mongoUrl() {
      return infra!.mongoUrl;
    },
    gatewayUrl: `http://127.0.0.1:${serviceNamed('gateway').port}/graphql`,
    wsUrl: `ws://127.0.0.1:${serviceNamed('gateway').port}/graphql`,

    async startInfra() {
      const current = await status(launcher);
      const taken = current.filter((s) => s.state !== 'stopped');
      if (taken.length)
        throw new Error(
          `${taken.map((s) => `${s.name} at ${s.address}`).join(', ')} already in use: the chaos run needs its own servers (choose other ports)`,
        );
      infra = await up(launcher);
    },

    async startServices(timeoutMs = 240_000) {
      const busy = (await Promise.all(all.map((s) => answersReady(s.port)))).some(Boolean);
      if (busy)
        throw new Error('a service already answers on the chaos run ports: choose another --port-offset');
      serviceEnv = {
        ...env,
        ...addresses,
        KAFKA_BROKERS: infra!.kafkaBrokers,
        MONGO_URL: infra!.mongoUrl,
        LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
      };
      // On a broker just started, a topic's leader may not be elected yet when a service first reads
      // its offsets, and some services then exit at start-up (kafkajs' "not the leader" is not
      // retried there): such a service is started again, up to three times, and reported.
      await Promise.all(
        all.map(async (s) => {
          for (let attempt = 1; ; attempt++) {
            const child = spawnOne(s);
            try {
              await waitServiceReady(s, child, timeoutMs);
              return;
            } catch (err) {
              running.set(
                s.name,
                (running.get(s.name) ?? []).filter((r) => r.child !== child),
              );
              if (attempt >= 3 || child.exitCode === null) throw err;
              log(
                `[chaos] attention: ${s.name} exited during start-up (${(err as Error).message}); starting it again`,
              );
            }
          }
        }),
      );
    },

    /** Every process of the platform (services, replicas in a rolling restart) answers ready. */
    async allReady(): Promise<boolean> {
      const ports = [...running.values()].flat().map((r) => r.service.port);
      const answers = await Promise.all(ports.map(answersReady));
      return answers.every(Boolean) && all.every((s) => (running.get(s.name)?.length ?? 0) > 0);
    },

    /** kill -9 of a service's process, restarted at once on the same port with the same settings. */
    async killAndRestart(name: string) {
      const list = running.get(name) ?? [];
      const current = list.shift();
      if (!current) throw new Error(`${name} is not running`);
      current.child.kill('SIGKILL');
      await exited(current.child);
      spawnOne(current.service);
    },

    /**
     * A rolling restart: a second process (same settings, the spare port) is started and ready
     * before the old one is stopped with SIGTERM; then the same again back onto the service's own
     * port, so the other services' addresses of it hold afterwards. Two overlaps, no gap.
     */
    async rollingRestart(name: string, timeoutMs = 120_000) {
      const service = serviceNamed(name);
      const spare = { ...service, port: service.port + options.spareOffset };
      for (const next of [spare, service]) {
        const old = running.get(name)?.[0];
        if (!old) throw new Error(`${name} is not running`);
        const child = spawnOne(next);
        await waitServiceReady(next, child, timeoutMs);
        old.child.kill('SIGTERM');
        await exited(old.child);
        running.set(
          name,
          running.get(name)!.filter((r) => r !== old),
        );
      }
    },

    async killKafka() {
      process.kill(await pidOf('kafka'), 'SIGKILL');
      await this.waitGone('kafka');
    },
    async killMongo() {
      process.kill(await pidOf('mongo'), 'SIGKILL');
      await this.waitGone('mongo');
    },
    async waitGone(name: 'kafka' | 'mongo') {
      for (;;) {
        const s = (await status(launcher)).find((x) => x.name === name);
        if (!s || s.state === 'stopped') return;
        await sleep(100);
      }
    },
    /** Starts the servers that are down again, on their data (up() relaunches what is not running). */
    async restartInfra() {
      await up(launcher);
    },
    /** SIGSTOP of MongoDB for `ms`, then SIGCONT: connections stay open, nothing answers. */
    async freezeMongo(ms: number) {
      const pid = await pidOf('mongo');
      process.kill(pid, 'SIGSTOP');
      try {
        await sleep(ms);
      } finally {
        process.kill(pid, 'SIGCONT');
      }
    },

    pids(): { name: string; pid: number }[] {
      return [...running.entries()].flatMap(([name, list]) =>
        list.flatMap((r) => (r.child.pid ? [{ name, pid: r.child.pid }] : [])),
      );
    },

    /** Stops everything it started and removes the run's state dir. Safe to call twice. */
    async stop() {
      const children = [...running.values()].flat();
      running.clear();
      for (const { child } of children)
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await Promise.race([Promise.all(children.map((c) => exited(c.child))), sleep(20_000)]);
      for (const { child } of children)
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      // A frozen server would never stop.
      for (const name of ['mongo', 'kafka'] as const) {
        try {
          process.kill(await pidOf(name), 'SIGCONT');
        } catch {
          // not running, or not ours
        }
      }
      await down(launcher);
      rmSync(options.stateDir, { recursive: true, force: true });
    },
  };
}

export type ChaosPlatform = ReturnType<typeof chaosPlatform>;
