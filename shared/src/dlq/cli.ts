import { parseArgs } from 'node:util';
import { logLevel } from 'kafkajs';
import { newKafka } from '../kafka/client';
import type { DeadLetter, DlqTopicSummary } from '../kafka/dlq';
import {
  describeDeadLetterTopic,
  DlqError,
  formatDeadLetter,
  listDeadLetterTopics,
  readDeadLetters,
  replayDeadLetters,
  resolveDlqTopic,
} from '../kafka/dlq';

const USAGE = `usage: npm run dlq -- <command> [options]
  list [<topic>]                       every *.dlq topic with its dead letters counted;
                                       with a topic, its dead letters one per line
  show <topic> [--offset N]            one dead letter in full (default: the latest)
  replay <topic> [--offset N] [--group G] [--force]
                                       send dead letters back to their source topic (key, value and
                                       headers as they were, x-dlq-* removed); each is sent once:
                                       what was replayed is committed by the consumer group
                                       waooaw-dlq-replay.<dlq topic>. --group: only those that
                                       consumer group dead-lettered. --force (with --offset): send it again.
  <topic> is the source topic or its dead-letter topic (orders.created or orders.created.dlq).
options: --partition P (default 0 with --offset), --json, --namespace NS (default WAOOAW_NAMESPACE)
env: KAFKA_BROKERS (default 127.0.0.1:9092), WAOOAW_NAMESPACE
exit codes: 0 done, 1 failed (Kafka unreachable ...), 2 usage, 3 no such topic or offset`;

/** What the CLI prints of a dead letter as JSON: the value as text (an envelope, usually). */
const letterJson = (letter: DeadLetter) => ({ ...letter, value: letter.value?.toString('utf8') ?? null });

const table = (rows: string[][]) => {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows
    .map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  '))
    .join('\n');
};

const oneLine = (text: string | undefined, max = 100) => {
  const flat = (text ?? '').replace(/\s+/g, ' ');
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
};

const summaryLine = (s: DlqTopicSummary) =>
  `${s.topic}: ${s.count} dead ${s.count === 1 ? 'letter' : 'letters'}, ${s.pending} not replayed`;

export async function main(argv: string[], out: (line: string) => void = console.log): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        offset: { type: 'string' },
        partition: { type: 'string' },
        group: { type: 'string' },
        namespace: { type: 'string' },
        force: { type: 'boolean' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    console.error(`${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  const [command, topicArg, ...extra] = positionals;
  if (values.help) {
    out(USAGE);
    return 0;
  }
  if (!command || !['list', 'show', 'replay'].includes(command) || extra.length > 0) {
    console.error(
      `${command ? `unknown command or extra arguments: ${positionals.join(' ')}` : 'no command given'}\n\n${USAGE}`,
    );
    return 2;
  }
  if (command !== 'list' && !topicArg) {
    console.error(`${command} needs a topic, e.g. npm run dlq -- ${command} orders.created\n\n${USAGE}`);
    return 2;
  }
  let partition: number | undefined;
  if (values.partition !== undefined) {
    partition = Number(values.partition);
    if (!Number.isInteger(partition) || partition < 0) {
      console.error(`--partition must be a partition number, not "${values.partition}"`);
      return 2;
    }
  }
  const namespace = values.namespace ?? (process.env.WAOOAW_NAMESPACE || undefined);
  const brokers = (process.env.KAFKA_BROKERS || '127.0.0.1:9092').split(',').map((b) => b.trim());
  const kafka = newKafka({
    clientId: 'waooaw-dlq',
    brokers,
    logLevel: logLevel.NOTHING,
    connectionTimeout: 3_000,
    retry: { retries: 2, initialRetryTime: 200 },
  });
  const topic = topicArg ? resolveDlqTopic(topicArg, namespace) : undefined;
  try {
    if (command === 'list' && !topic) {
      const topics = await listDeadLetterTopics(kafka, namespace ? { namespace } : {});
      if (values.json) out(JSON.stringify(topics, null, 2));
      else if (topics.length === 0)
        out(`no dead-letter topics${namespace ? ` in namespace ${namespace}` : ''}`);
      else
        out(
          table([
            ['DLQ TOPIC', 'DEAD LETTERS', 'NOT REPLAYED'],
            ...topics.map((t) => [t.topic, String(t.count), String(t.pending)]),
          ]),
        );
      return 0;
    }
    if (command === 'list') {
      const summary = await describeDeadLetterTopic(kafka, topic!);
      const letters = await readDeadLetters(kafka, topic!, partition !== undefined ? { partition } : {});
      if (values.json) {
        out(JSON.stringify({ ...summary, deadLetters: letters.map(letterJson) }, null, 2));
        return 0;
      }
      out(summaryLine(summary));
      if (letters.length > 0)
        out(
          table([
            ['OFFSET', 'REPLAYED', 'REASON', 'SOURCE', 'GROUP', 'FAILED AT', 'ERROR'],
            ...letters.map((l) => [
              summary.partitions.length > 1 ? `${l.partition}:${l.offset}` : l.offset,
              l.replayed ? 'yes' : 'no',
              l.reason ?? '-',
              l.source ? `${l.source.topic}[${l.source.partition}]@${l.source.offset}` : '-',
              l.group ?? '-',
              l.failedAt ?? l.timestamp,
              oneLine(l.error),
            ]),
          ]),
        );
      return 0;
    }
    if (command === 'show') {
      let offset = values.offset;
      if (offset === undefined) {
        const summary = await describeDeadLetterTopic(kafka, topic!);
        const p = summary.partitions.find((x) => x.partition === (partition ?? 0));
        if (!p || p.low === p.high) throw new DlqError(`${topic} holds no dead letters`, 'not-found');
        offset = (BigInt(p.high) - 1n).toString();
      }
      const [letter] = await readDeadLetters(kafka, topic!, {
        offset,
        ...(partition !== undefined ? { partition } : {}),
      });
      if (!letter) throw new DlqError(`${topic} has no dead letter at offset ${offset}`, 'not-found');
      out(values.json ? JSON.stringify(letterJson(letter), null, 2) : formatDeadLetter(letter));
      return 0;
    }
    const result = await replayDeadLetters(kafka, topic!, {
      ...(values.offset !== undefined ? { offset: values.offset } : {}),
      ...(partition !== undefined ? { partition } : {}),
      ...(values.group !== undefined ? { group: values.group } : {}),
      ...(values.force ? { force: true } : {}),
    });
    if (values.json) out(JSON.stringify(result, null, 2));
    else {
      for (const r of result.replayed) out(`replayed ${topic}[${r.partition}]@${r.offset} to ${r.to}`);
      for (const s of result.skipped) out(`skipped ${topic}[${s.partition}]@${s.offset}: ${s.why}`);
      out(
        `${result.replayed.length} dead ${result.replayed.length === 1 ? 'letter' : 'letters'} replayed` +
          (result.replayed.length === 0 && result.skipped.length === 0 ? ' (nothing left to replay)' : ''),
      );
    }
    return 0;
  } catch (err) {
    if (err instanceof DlqError) {
      console.error(err.message);
      return err.kind === 'usage' ? 2 : 3;
    }
    console.error(`dlq ${command} failed (Kafka at ${brokers.join(',')}): ${(err as Error).message}`);
    return 1;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
