import { randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ensureBundle, kafkaBundle, mongoBundle } from './artifacts';
import type { ProcessRecord } from './process';
import { spawnDetached } from './process';
import { probeKafka, probeMongo } from './probes';
import { requireJava } from './tools';

export interface LauncherPaths {
  /** Jars downloaded from Maven Central (outside git). */
  cacheDir: string;
  /** Process records, logs and persistent data. */
  stateDir: string;
}

export interface ServerOptions {
  host: string;
  kafkaPort: number;
  controllerPort: number;
  mongoPort: number;
  /** Ephemeral servers keep data in memory / a temp folder that `down` deletes (tests). */
  ephemeral: boolean;
  kafkaHeap: string;
  mongoHeap: string;
}

export type ServerName = 'kafka' | 'mongo';

export interface ServerDef {
  name: ServerName;
  /** The environment variable that points the platform at an existing server instead. */
  envVar: 'KAFKA_BROKERS' | 'MONGO_URL';
  port(opts: ServerOptions): number;
  address(opts: ServerOptions): string;
  probe(address: string): Promise<boolean>;
  start(opts: ServerOptions, paths: LauncherPaths, log: (msg: string) => void): Promise<ProcessRecord>;
}

function dataDirFor(name: ServerName, opts: ServerOptions, paths: LauncherPaths, port: number): string {
  return opts.ephemeral
    ? path.join(os.tmpdir(), `waooaw-${name}-${port}-${randomBytes(4).toString('hex')}`)
    : path.join(paths.stateDir, 'data', `${name}-${port}`);
}

function javaRun(args: string[], cwd: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('java', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`java ${args.join(' ')} failed:\n${out}`)),
    );
  });
}

/**
 * A Kafka cluster id: 16 random bytes in URL-safe base64 without padding. Like Kafka's own
 * Uuid.randomUuid(), never one that starts with "-", which command lines would read as an option.
 */
export function newClusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

const LOG4J2_PROPERTIES = `# Written by the WAOOAW infra launcher: Kafka logs go to stdout, which the launcher sends to a file.
rootLogger.level=INFO
rootLogger.appenderRef.stdout.ref=STDOUT
appender.stdout.type=Console
appender.stdout.name=STDOUT
appender.stdout.layout.type=PatternLayout
appender.stdout.layout.pattern=[%d] %p %m (%c)%n
logger.kafka.name=kafka
logger.kafka.level=INFO
logger.state.name=state.change.logger
logger.state.level=WARN
`;

function kafkaProperties(opts: ServerOptions, logDir: string): string {
  const { host, kafkaPort, controllerPort } = opts;
  return [
    '# Written by the WAOOAW infra launcher: one combined KRaft broker + controller.',
    'process.roles=broker,controller',
    'node.id=1',
    `controller.quorum.voters=1@${host}:${controllerPort}`,
    `listeners=PLAINTEXT://${host}:${kafkaPort},CONTROLLER://${host}:${controllerPort}`,
    `advertised.listeners=PLAINTEXT://${host}:${kafkaPort}`,
    'controller.listener.names=CONTROLLER',
    'inter.broker.listener.name=PLAINTEXT',
    'listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
    `log.dirs=${logDir}`,
    // The platform creates its topics explicitly with their partition counts; auto-creation stays
    // on only as a safety net for tools, with the same default.
    'num.partitions=3',
    'auto.create.topics.enable=true',
    'offsets.topic.replication.factor=1',
    'offsets.topic.num.partitions=10',
    'transaction.state.log.replication.factor=1',
    'transaction.state.log.min.isr=1',
    'share.coordinator.state.topic.replication.factor=1',
    'share.coordinator.state.topic.min.isr=1',
    // A single-member group should not wait 3 s before its first assignment.
    'group.initial.rebalance.delay.ms=0',
    // Thread pools sized for a small machine (the defaults, 3 network and 8 I/O threads, are for a
    // dedicated broker host): on two cores shared with everything else, more threads only switch.
    'num.network.threads=2',
    'num.io.threads=2',
    '',
  ].join('\n');
}

export const kafkaServer: ServerDef = {
  name: 'kafka',
  envVar: 'KAFKA_BROKERS',
  port: (opts) => opts.kafkaPort,
  address: (opts) => `${opts.host}:${opts.kafkaPort}`,
  probe: (address) => probeKafka(address.split(',')),
  async start(opts, paths, log) {
    requireJava();
    const lib = await ensureBundle(kafkaBundle, paths.cacheDir, log);
    const dataDir = dataDirFor('kafka', opts, paths, opts.kafkaPort);
    const logDir = path.join(dataDir, 'logs');
    mkdirSync(logDir, { recursive: true });
    const props = path.join(dataDir, 'server.properties');
    const log4j = path.join(dataDir, 'log4j2.properties');
    writeFileSync(props, kafkaProperties(opts, logDir));
    writeFileSync(log4j, LOG4J2_PROPERTIES);
    const classpath = `${lib}${path.delimiter}${path.join(lib, '*')}`;
    const common = ['-cp', classpath, `-Dlog4j2.configurationFile=${log4j}`, '-Djava.awt.headless=true'];
    if (!existsSync(path.join(logDir, 'meta.properties'))) {
      const clusterId = newClusterId();
      await javaRun([...common, 'kafka.tools.StorageTool', 'format', '-t', clusterId, '-c', props], dataDir);
    }
    const logFile = path.join(paths.stateDir, 'logs', `kafka-${opts.kafkaPort}.log`);
    const pid = spawnDetached(
      'java',
      [...opts.kafkaHeap.split(' ').filter(Boolean), '-XX:+UseG1GC', ...common, 'kafka.Kafka', props],
      logFile,
      dataDir,
    );
    return {
      name: 'kafka',
      pid,
      host: opts.host,
      port: opts.kafkaPort,
      ephemeral: opts.ephemeral,
      dataDir,
      logFile,
      startedAt: new Date().toISOString(),
    };
  },
};

const MONGO_MAIN = path.resolve(__dirname, '..', 'java', 'MongoServerMain.java');

export const mongoServer: ServerDef = {
  name: 'mongo',
  envVar: 'MONGO_URL',
  port: (opts) => opts.mongoPort,
  address: (opts) => `mongodb://${opts.host}:${opts.mongoPort}`,
  probe: (address) => probeMongo(address),
  async start(opts, paths, log) {
    requireJava();
    const lib = await ensureBundle(mongoBundle, paths.cacheDir, log);
    const dataDir = dataDirFor('mongo', opts, paths, opts.mongoPort);
    mkdirSync(dataDir, { recursive: true });
    const logFile = path.join(paths.stateDir, 'logs', `mongo-${opts.mongoPort}.log`);
    const storage = opts.ephemeral ? [] : ['--journal', path.join(dataDir, 'waooaw.journal')];
    const pid = spawnDetached(
      'java',
      [
        ...opts.mongoHeap.split(' ').filter(Boolean),
        '-cp',
        path.join(lib, '*'),
        MONGO_MAIN,
        '--host',
        opts.host,
        '--port',
        String(opts.mongoPort),
        ...storage,
      ],
      logFile,
      dataDir,
    );
    return {
      name: 'mongo',
      pid,
      host: opts.host,
      port: opts.mongoPort,
      ephemeral: opts.ephemeral,
      dataDir,
      logFile,
      startedAt: new Date().toISOString(),
    };
  },
};

export const servers: ServerDef[] = [kafkaServer, mongoServer];
