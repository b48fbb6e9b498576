import type { Client } from 'graphql-ws';
import { errorCodeOf, gatewaySocket } from '../ws';
import type { ReceivedEvent } from './counting';
import { cursorPosition } from './counting';

const FEED = `subscription($after: String) { activityFeed(after: $after) { cursor activityId } }`;

/**
 * A live subscriber of the gateway's activity feed that never gives up: whenever its socket closes or
 * its subscription ends (the gateway killed, Kafka gone), it connects again with the cursor of the
 * last event it received as `after`, as a client following the docs would. It records every event
 * with the position its cursor carries; errors other than a dropped connection are kept to report.
 */
export function feedSubscriber(wsUrl: string, token: string) {
  const received: ReceivedEvent[] = [];
  const errors = new Map<string, number>();
  let cursor: string | undefined;
  let reconnects = 0;
  let stopped = false;
  let client: Client | undefined;
  let wake: (() => void) | undefined;

  const note = (what: string) => errors.set(what, (errors.get(what) ?? 0) + 1);

  const once = () =>
    new Promise<void>((resolve) => {
      // A dead gateway should be noticed in seconds, not at the TCP timeout.
      const c = gatewaySocket(wsUrl, token, { keepAlive: 5_000 });
      client = c;
      let unsubscribe = () => undefined as void;
      const finish = () => {
        unsubscribe();
        void c.dispose();
        resolve();
      };
      wake = finish;
      c.on('closed', () => finish());
      unsubscribe = c.subscribe<{ activityFeed: { cursor: string; activityId: string } }>(
        { query: FEED, variables: cursor ? { after: cursor } : {} },
        {
          next: (result) => {
            const event = result.data?.activityFeed;
            if (result.errors?.length) note(errorCodeOf(result.errors[0]));
            if (!event) return;
            const position = cursorPosition(event.cursor);
            if (!position) {
              note('unreadable cursor');
              return;
            }
            cursor = event.cursor;
            received.push({ id: event.activityId, at: Date.now(), position });
          },
          error: (err: unknown) => {
            // A socket closing is what the run does to it (a CloseEvent, not worth noting); GraphQL
            // errors (an array) are worth reporting.
            if (Array.isArray(err)) note(errorCodeOf((err as readonly { message?: unknown }[])[0]));
            finish();
          },
          complete: () => finish(),
        },
      );
    });

  const running = (async () => {
    while (!stopped) {
      await once();
      if (stopped) break;
      reconnects++;
      await new Promise((r) => setTimeout(r, 500 + Math.random() * 500));
    }
  })();

  return {
    received,
    errors,
    reconnects: () => reconnects,
    /** The position after the last event received (null before the first). */
    position: () => received.at(-1)?.position ?? null,
    async stop() {
      stopped = true;
      wake?.();
      await client?.dispose();
      await running;
    },
  };
}

export type FeedSubscriber = ReturnType<typeof feedSubscriber>;
