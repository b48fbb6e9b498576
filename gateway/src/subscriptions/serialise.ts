import type { WebSocket } from 'ws';

/*
 * One serialisation per shared payload, not one per subscriber. Subscribers of one audience and
 * selection get the very same result object for an event (payload.ts); graphql-ws would still turn
 * it into JSON once per subscriber, as part of each `next` message (`{"id":…,"type":"next",
 * "payload":…}`, the id being the subscriber's own). With ten thousand viewers of an event, that is
 * ten thousand walks of the same object.
 *
 * graphql-ws has no hook between its JSON.stringify and the socket, so this takes two it has: its
 * `jsonMessageReplacer` hands a `next` message's payload over as a marker string, having turned the
 * payload into JSON once (kept per result object); and the socket's send, wrapped when the socket
 * opens, puts that JSON in place of the marker. graphql-ws stringifies a message and hands it to the
 * socket in the same synchronous step (`socket.send(stringifyMessage(…))`), so the JSON waiting at a
 * send is always that of the message being sent; the marker ends the message (`payload` is its last
 * key), so it is found without scanning. A payload cannot forge the marker: the replacer hands the
 * payload over whole, nothing in it is visited.
 *
 * The alternative, an own WebSocket adapter around graphql-ws's makeServer (keepalive, close codes,
 * error handling of graphql-ws/use/ws written again), would be more code to keep for the same gain.
 */

const MARKER = '\u0000waooaw:shared-payload';
/** How a message with a marked payload ends. */
const MARKED_END = `,"payload":${JSON.stringify(MARKER)}}`;

export function serialiseOnce() {
  const json = new WeakMap<object, string>();
  let waiting: string | undefined;
  let serialisations = 0;

  let message: unknown; // the message being stringified (the replacer sees it first, under the key '')
  return {
    /**
     * For graphql-ws's `jsonMessageReplacer`: a `next` message's payload becomes the marker, its JSON
     * worked out once per result object.
     */
    replacer: (key: string, value: unknown): unknown => {
      if (key === '') message = value;
      if (key !== 'payload' || typeof value !== 'object' || value === null) return value;
      if ((message as { type?: unknown; payload?: unknown }).payload !== value) return value;
      if ((message as { type?: unknown }).type !== 'next') return value;
      let text = json.get(value);
      if (text === undefined) {
        text = JSON.stringify(value);
        json.set(value, text);
        serialisations++;
      }
      waiting = text;
      return MARKER;
    },
    /** Makes `socket` send marked messages with their payload's JSON in place of the marker. */
    wrap: (socket: WebSocket): void => {
      const send = socket.send.bind(socket) as (data: unknown, ...rest: unknown[]) => void;
      const spliced = (data: unknown, ...rest: unknown[]) => {
        if (typeof data === 'string' && waiting !== undefined && data.endsWith(MARKED_END)) {
          data = `${data.slice(0, -MARKED_END.length)},"payload":${waiting}}`;
          waiting = undefined;
        }
        send(data, ...rest);
      };
      socket.send = spliced as WebSocket['send'];
    },
    /** Payloads turned into JSON so far (each once, however many subscribers got it). */
    get serialisations() {
      return serialisations;
    },
  };
}
