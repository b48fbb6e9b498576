import { markdownTable } from '../report';

/** One fault (or the baseline) in `chaos-latest.json`: the fields first, then the detail. */
export interface ChaosFaultResult {
  name: string;
  /** Injection until a task submitted after it completed and every process answered ready; null: not within the timeout. */
  recoveryS: number | null;
  /** Tasks accepted in this fault's window that never reached a final status. */
  lost: number;
  /** Tasks applied twice (two final verdicts or two successful attempts) + trials, conversions and tickets recorded twice. */
  duplicates: number;
  /** Feed events the resuming subscribers never received (summed over subscribers), by the event's time. */
  missedEvents: number;
  /** Feed events subscribers received twice, by when the second copy came. */
  duplicatedEvents: number;
  /** New messages on every `*.dlq` topic in the window (all the run's load is valid). */
  deadLettered: number;
  injectedAt: string | null;
  /** Until the next fault's injection (the window a lost task or a message is attributed to). */
  windowS: number | null;
  accepted: number;
  completed: number;
  failed: number;
  detail: {
    taskDuplicates: number;
    trialDuplicates: number;
    conversionDuplicates: number;
    ticketDuplicates: number;
    deadLetteredByTopic: Record<string, number>;
    lostSample: string[];
    duplicateSample: string[];
    /** Why the window's tasks that did not complete ended so, error text with numbers as N: tasks. */
    failedReasons: Record<string, number>;
    /** A few of the feed events missed in this window, to look up on the topic. */
    missedEventSample: { partition: number; offset: number; publishedAt: string; id: string }[];
  };
}

export interface ChaosReport {
  startedAt: string;
  finishedAt: string;
  command: string;
  machine: { cpus: number; loadAvg: number[]; node: string };
  settings: Record<string, unknown>;
  faults: ChaosFaultResult[];
  totals: {
    accepted: number;
    refused: number;
    lost: number;
    duplicates: number;
    missedEvents: number;
    duplicatedEvents: number;
    deadLettered: number;
  };
  subscribers: {
    count: number;
    reconnects: number;
    eventsReceived: number;
    unmatched: number;
    errors: Record<string, number>;
    neverStarted: number;
    /** Feed events published after the subscribers were last seen caught up: owed to nobody. */
    publishedAfterLastCheck: number;
  };
  business: { trialsStarted: number; conversions: number; tickets: number; refused: number };
  notes: string[];
}

/** The table printed at the end and quoted in the READMEs. */
export function chaosTable(faults: readonly ChaosFaultResult[]): string {
  return markdownTable(
    ['fault', 'recovery s', 'accepted', 'failed', 'lost', 'dup', 'missed ev', 'dup ev', 'DLQ'],
    faults.map((f) => [
      f.name,
      f.recoveryS === null ? (f.name === 'baseline' ? '-' : 'no') : f.recoveryS.toFixed(1),
      String(f.accepted),
      String(f.failed),
      String(f.lost),
      String(f.duplicates),
      String(f.missedEvents),
      String(f.duplicatedEvents),
      String(f.deadLettered),
    ]),
  );
}
