// When an attempt's silence means something. Pure code: time is passed in as `now` (milliseconds).
//
// An attempt is timed out because no result for it was heard within its timeout. That silence only
// says something while orchestration can hear results. When its database goes away, the results
// consumer cannot apply what the runtimes send: the messages wait in Kafka, their partitions paused
// (shared/src/kafka/consumer.ts). The attempts behind them have finished, and their results are
// only unread. If the database is gone for longer than an attempt's timeout, the timeout sweep would
// come back first: it needs only one read, while the paused partitions resume at the end of their
// backoff (up to 5 s), and then the backlog has to be read. Each attempt it times out is retried, and
// the skill's work runs a second time (the chaos test's MongoDB outage, longer than the timeout).
// So while results wait, nothing is timed out, and afterwards the results get `catchUpMs` to be read
// before silence counts again.

/** How long after results stop waiting they are given to arrive before attempts time out again. */
export const RESULTS_CATCH_UP_MS = 10_000;

/**
 * Whether the timeout sweep may judge silence now. Ask it on every sweep with whether results
 * are waiting at that moment (`held`); it remembers when they last were.
 */
export function createSilenceJudge(catchUpMs = RESULTS_CATCH_UP_MS) {
  let deafUntil = Number.NEGATIVE_INFINITY;
  return {
    /** True when attempts silent past their timeout may be timed out at `now`. */
    meaningful(now: number, held: boolean): boolean {
      if (held) {
        deafUntil = now + catchUpMs;
        return false;
      }
      return now >= deafUntil;
    },
  };
}
