import { spawnSync } from 'node:child_process';

export class MissingToolError extends Error {
  constructor(
    readonly tool: string,
    detail: string,
  ) {
    super(
      `${tool} is required to run Kafka and the MongoDB-protocol server locally, but ${detail}. ` +
        `Install a JDK 17+ and Apache Maven (Debian: apt-get install openjdk-17-jdk-headless maven), ` +
        `or point the platform at existing servers with KAFKA_BROKERS and MONGO_URL.`,
    );
    this.name = 'MissingToolError';
  }
}

/** Fails with a message naming the tool when java (17+) is absent or too old. */
export function requireJava(env: NodeJS.ProcessEnv = process.env): void {
  const result = spawnSync('java', ['-version'], { encoding: 'utf8', env });
  if (result.error) throw new MissingToolError('java', 'no `java` command was found on PATH');
  const match = /version "(\d+)(?:\.(\d+))?/.exec(`${result.stderr}${result.stdout}`);
  const major = match ? Number(match[1] === '1' ? match[2] : match[1]) : NaN;
  if (!(major >= 17)) {
    throw new MissingToolError('java', `\`java -version\` reports ${match?.[0] ?? 'an unknown version'}`);
  }
}

/** Fails with a message naming the tool when Maven is absent. */
export function requireMaven(env: NodeJS.ProcessEnv = process.env): void {
  const result = spawnSync('mvn', ['-v'], { encoding: 'utf8', env });
  if (result.error || result.status !== 0) {
    throw new MissingToolError('mvn (Apache Maven)', 'no working `mvn` command was found on PATH');
  }
}
