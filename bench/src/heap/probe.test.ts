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

  const command = async (line: string) => {
    child.stdin.write(`${line}\n`);
    expect((await lines.next()).value).toBe(line);
  };

  beforeAll(async () => {
    port = await freePort();
    child = spawn(process.execPath, [`--inspect-port=${port}`, '-e', CHILD]);
    lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
    expect((await lines.next()).value).toBe('ready');
  });

  afterAll(async () => {
    child.kill();
    await once(child, 'exit');
  });

  it('counts what a process holds after a full collection, not the garbage it has not collected yet', async () => {
    const before = await heapAfterGc(child.pid!, port);
    expect(before.pid).toBe(child.pid);
    await command('garbage');
    const afterGarbage = await heapAfterGc(child.pid!, port);
    await command('keep');
    const afterKeep = await heapAfterGc(child.pid!, port);

    const MB = 1_048_576;
    // 5,000,000 doubles: 40 MB that stay reachable; the same amount dropped leaves nothing behind.
    expect(afterGarbage.heapUsed - before.heapUsed).toBeLessThan(5 * MB);
    expect(afterKeep.heapUsed - before.heapUsed).toBeGreaterThan(35 * MB);
    expect(afterKeep.rss).toBeGreaterThanOrEqual(afterKeep.heapUsed);
  });
});
