import { spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';
import { heapAfterGc } from './probe';

/**
 * A port nothing listens on, for the child's inspector. Below the kernel's range of ephemeral ports
 * (32768 and up): the probe closes the inspector after each round and SIGUSR1 opens it again on the
 * same port, and an ephemeral port may meanwhile have been handed to another test's connection.
 */
async function freePort(): Promise<number> {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 10_000);
    const server = createServer();
    const bound = await new Promise<boolean>((resolve) => {
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => resolve(true));
    });
    if (!bound) continue;
    server.close();
    await once(server, 'close');
    return port;
  }
}

/**
 * A Node process that keeps or drops about 40 MB of heap on command, answering each command's line
 * once it is done, so the test knows what the process holds.
 */
const CHILD = `
const kept = [];
const rl = require('node:readline').createInterface({ input: process.stdin });
const block = () => Array.from({ length: 5_000_000 }, (_, i) => i + 0.5);
rl.on('line', (line) => {
  if (line === 'keep') kept.push(block());
  if (line === 'garbage') block().length;
  console.log(line);
});
console.log('ready');
`;

describe('heapAfterGc', () => {
  let child: ChildProcessWithoutNullStreams;
  let port: number;
  let lines: AsyncIterator<string>;
  let stderr = '';
  let exited: string | undefined;
  let closed: Promise<unknown>;

  /** The child's answer to `line`; if it died meanwhile (the probe must never kill it), how. */
  const command = async (line: string) => {
    child.stdin.write(`${line}\n`);
    const answer = (await lines.next()).value as string | undefined;
    if (answer === undefined) await closed; // its stderr read to the end
    expect({ answer, exited, stderr: answer === undefined ? stderr : '' }).toEqual({
      answer: line,
      exited: undefined,
      stderr: '',
    });
  };

  beforeAll(async () => {
    port = await freePort();
    child = spawn(process.execPath, [`--inspect-port=${port}`, '-e', CHILD]);
    closed = once(child, 'close');
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('exit', (code, signal) => (exited = `code ${code}, signal ${signal}`));
    lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
    expect((await lines.next()).value).toBe('ready');
  });

  afterAll(async () => {
    child.kill();
    await closed;
  });

  it('counts what a process holds after a full collection, not the garbage it has not collected yet', async () => {
    const before = await heapAfterGc(child.pid!, port);
    expect(before.pid).toBe(child.pid);
    await command('garbage');
    const afterGarbage = await heapAfterGc(child.pid!, port);
    await command('keep');
    const afterKeep = await heapAfterGc(child.pid!, port);
    await command('alive'); // the last probe left it running too

    const MB = 1_048_576;
    // 5,000,000 doubles: 40 MB that stay reachable; the same amount dropped leaves nothing behind.
    expect(afterGarbage.heapUsed - before.heapUsed).toBeLessThan(5 * MB);
    expect(afterKeep.heapUsed - before.heapUsed).toBeGreaterThan(35 * MB);
    expect(afterKeep.rss).toBeGreaterThanOrEqual(afterKeep.heapUsed);
  });
});
