import { parseArgs } from 'node:util';
import { runCli } from '../run-cli';
import { heapAfterGc } from './probe';

const USAGE = `usage: npm run heap -- [--every SEC] [--times N] [--port N] PID [PID...]
Prints each process's memory right after a full garbage collection (MB), once or every SEC seconds.
  --every SEC   probe again every SEC seconds (default: once)
  --times N     with --every, stop after N rounds (default 10)
  --port N      the inspector port to open (default 9229; it must be free)
Find the PIDs with e.g. \`pgrep -f services/factory/dist\`. Node processes only.`;

interface Options {
  help: boolean;
  pids: number[];
  everyS: number | null;
  times: number;
  port: number;
}

function parse(): Options {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      help: { type: 'boolean', default: false },
      every: { type: 'string' },
      times: { type: 'string', default: '10' },
      port: { type: 'string', default: '9229' },
    },
  });
  const positive = (name: string, text: string) => {
    const n = Number(text);
    if (!Number.isInteger(n) || n <= 0)
      throw new Error(`${name} must be a positive whole number, not "${text}"`);
    return n;
  };
  const pids = positionals.map((p) => positive('a PID', p));
  if (pids.length === 0 && !values.help) throw new Error('give at least one PID');
  return {
    help: values.help,
    pids,
    everyS: values.every === undefined ? null : positive('--every', values.every),
    times: positive('--times', values.times),
    port: positive('--port', values.port),
  };
}

const mb = (bytes: number) => (bytes / 1_048_576).toFixed(1);

runCli('heap', USAGE, parse, async (options) => {
  const rounds = options.everyS === null ? 1 : options.times;
  for (let round = 0; round < rounds; round++) {
    if (round > 0) await new Promise((resolve) => setTimeout(resolve, options.everyS! * 1000));
    for (const pid of options.pids) {
      const m = await heapAfterGc(pid, options.port);
      console.log(
        `${m.at} pid ${pid}: heapUsed ${mb(m.heapUsed)} MB, heapTotal ${mb(m.heapTotal)}, external ${mb(m.external)}, rss ${mb(m.rss)}`,
      );
    }
  }
  return 0;
});
