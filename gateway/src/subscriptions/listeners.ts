/**
 * Where every event a subscription hears comes from: events whose data holds `value` in `field`
 * (a customer's own tasks: `customerId`; one agent's lifecycle: `agentId`). See eventRoute.
 */
export interface EventRoute {
  field: string;
  value: unknown;
}

/**
 * The listeners of one live feed, each reached only by the events it can hear. A topic's live
 * consumer hands every event to its listeners; with thousands of subscribers that each hear a few of
 * the events (customers and their own tasks), offering every event to every subscriber's filter
 * costs subscribers x events calls (ten thousand clients, a few hundred task updates a second: most
 * of the gateway's time). A listener with a route is offered only the events that match it, found by
 * one map lookup per routed field; one without is offered every event. Each listener still applies
 * its whole filter: the route only spares it the events it could never hear.
 */
export function routedListeners<E>(dataOf: (event: E) => Record<string, unknown>) {
  type Listener = (event: E) => void;
  const everywhere = new Set<Listener>();
  const routed = new Map<string, Map<unknown, Set<Listener>>>();
  let size = 0;

  return {
    /** Listeners in all. */
    get size() {
      return size;
    },
    /** Adds `listener`, offered the events `route` matches (all without one). Returns its removal. */
    add(listener: Listener, route?: EventRoute): () => void {
      let set = everywhere;
      if (route) {
        let byValue = routed.get(route.field);
        if (!byValue) routed.set(route.field, (byValue = new Map<unknown, Set<Listener>>()));
        let forValue = byValue.get(route.value);
        if (!forValue) byValue.set(route.value, (forValue = new Set<Listener>()));
        set = forValue;
      }
      if (set.has(listener)) return () => undefined;
      set.add(listener);
      size++;
      return () => {
        if (!set.delete(listener)) return;
        size--;
        if (!route || set.size > 0) return;
        // The last of its value: forget the value, and the field once no value is left.
        const byValue = routed.get(route.field);
        byValue?.delete(route.value);
        if (byValue?.size === 0) routed.delete(route.field);
      };
    },
    /** Offers `event` to every listener whose route it matches, and to the unrouted ones. */
    deliver(event: E): void {
      for (const listener of everywhere) listener(event);
      if (routed.size === 0) return;
      const data = dataOf(event);
      for (const [field, byValue] of routed) {
        const listeners = byValue.get(data[field]);
        if (listeners) for (const listener of listeners) listener(event);
      }
    },
  };
}

export type RoutedListeners<E> = ReturnType<typeof routedListeners<E>>;
