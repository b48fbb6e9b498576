import { readFileSync } from 'node:fs';
import { SignJWT } from 'jose';
import type { Caller, Role } from '@waooaw/shared';
import { callerFromToken, signCallerToken, subscriptionFeeds } from '@waooaw/shared';
import { createClientAuth } from '../auth';
import { SUPERGRAPH_FILE } from '../subgraphs';
import { eventFilter, eventRoute, feedAccess } from '../subscriptions/access';
import { routedListeners } from '../subscriptions/listeners';

/** What `caller` may hear of feed `name`: the error code it is refused with, or the test per event. */
function hears(name: string, caller: Caller | null) {
  const decision = feedAccess(name, subscriptionFeeds[name]!.access, caller);
  if ('error' in decision) return { refused: decision.error.extensions.code };
  return { refused: undefined, admits: decision.admits };
}
const as = (sub: string, ...roles: Role[]): Caller => ({ sub, roles });

describe('who hears which subscription events (subscriptionFeeds access, applied by the gateway)', () => {
  const mine = { customerId: 'cust-a' };
  const theirs = { customerId: 'cust-b' };
  const nobodys = { customerId: null };

  it.each(['taskUpdated', 'workflowUpdated', 'businessFiguresChanged'])(
    '%s: owners hear their own, operators and admins all, support roles and anonymous callers none of the others',
    (feed) => {
      expect(hears(feed, null).refused).toBe('UNAUTHENTICATED');
      const customer = hears(feed, as('cust-a', 'customer'));
      expect([customer.admits!(mine), customer.admits!(theirs), customer.admits!(nobodys)]).toEqual([
        true,
        false,
        false,
      ]);
      for (const role of ['support-l1', 'support-l2', 'support-l3'] as const) {
        const support = hears(feed, as('sup-1', role));
        expect([support.admits!(theirs), support.admits!(nobodys)]).toEqual([false, false]);
      }
      for (const role of ['operator', 'admin'] as const) {
        const staff = hears(feed, as('ops-1', role));
        expect([staff.admits!(theirs), staff.admits!(nobodys)]).toEqual([true, true]);
      }
      // Roles add up: a customer who is also an operator hears everything.
      expect(hears(feed, as('cust-a', 'customer', 'operator')).admits!(theirs)).toBe(true);
    },
  );

  it('ticketUpdated: support hears the tickets at its tier or below (the tier reached or left), customers their own', () => {
    const at = (tier: string, previousTier: string | null = null) => ({
      customerId: 'cust-b',
      tier,
      previousTier,
    });
    expect(hears('ticketUpdated', null).refused).toBe('UNAUTHENTICATED');
    const l1 = hears('ticketUpdated', as('sup-1', 'support-l1')).admits!;
    const l2 = hears('ticketUpdated', as('sup-2', 'support-l2')).admits!;
    const l3 = hears('ticketUpdated', as('sup-3', 'support-l3')).admits!;
    expect([l1(at('L1')), l1(at('L2', 'L1')), l1(at('L2')), l1(at('L3', 'L2'))]).toEqual([
      true,
      true,
      false,
      false,
    ]);
    expect([l2(at('L1')), l2(at('L2')), l2(at('L3', 'L2')), l2(at('L3'))]).toEqual([true, true, true, false]);
    expect([l3(at('L3')), l3(at('L1'))]).toEqual([true, true]);
    const customer = hears('ticketUpdated', as('cust-a', 'customer')).admits!;
    expect([customer({ ...at('L3'), customerId: 'cust-a' }), customer(at('L1'))]).toEqual([true, false]);
  });

  it('supportQueueChanged: support roles and staff only, every queue', () => {
    expect(hears('supportQueueChanged', null).refused).toBe('UNAUTHENTICATED');
    expect(hears('supportQueueChanged', as('cust-a', 'customer')).refused).toBe('FORBIDDEN');
    expect(hears('supportQueueChanged', as('sup-1', 'support-l1')).admits!({ tier: 'L3' })).toBe(true);
  });

  it.each(['activityFeed', 'agentLifecycleChanged', 'agentHealthChanged'])(
    '%s is public: anyone hears every event',
    (feed) => {
      expect(hears(feed, null).admits!({ customerId: 'cust-b' })).toBe(true);
    },
  );

  it('declares an access rule for every feed whose events name a customer', () => {
    const ownerless = Object.entries(subscriptionFeeds)
      // Every feed's event schema is a zod object; its shape lists the data fields.
      .filter(([, feed]) => 'customerId' in ((feed.event.schema as { shape?: object }).shape ?? {}))
      .filter(([, feed]) => !feed.access)
      .map(([name]) => name);
    // activityFeed's events name the customer for internal consumers; its SDL type leaves it out.
    expect(ownerless).toEqual(['activityFeed']);
  });
});

describe('the tenant claim', () => {
  // Nothing on the platform is scoped by tenant, so the claim is not carried at all: a caller never
  // looks scoped to a tenant while every query still sees every tenant's data.
  const config = {
    JWT_SECRET: 'authz-unit-client-secret-long-enough',
    JWT_ISSUER: 'waooaw',
    JWT_AUDIENCE: 'api',
  };
  const callerSecret = 'authz-unit-caller-secret-long-enough-too';

  it('is neither read from client tokens nor forwarded to the subgraphs', async () => {
    const token = await new SignJWT({ roles: ['customer'], tenant: 'acme' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('cust-a')
      .setIssuer(config.JWT_ISSUER)
      .setAudience(config.JWT_AUDIENCE)
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode(config.JWT_SECRET));
    const caller = await createClientAuth(config)(`Bearer ${token}`);
    expect(caller).toEqual({ sub: 'cust-a', roles: ['customer'] });
    const forwarded = await callerFromToken(
      await signCallerToken(caller, callerSecret, 'orchestration'),
      callerSecret,
      'orchestration',
    );
    expect(forwarded).toEqual({ sub: 'cust-a', roles: ['customer'] });
  });

  it('is in no type of the supergraph', () => {
    expect(readFileSync(SUPERGRAPH_FILE, 'utf8')).not.toMatch(/\btenant\b/i);
  });
});

describe('which of its feed’s events a subscription hears (eventFilter)', () => {
  const feed = subscriptionFeeds.activityFeed!;
  const type = feed.event.type;
  const event = (data: Record<string, unknown>, eventType = type) => ({ type: eventType, data });
  const marketing = { category: 'MARKETING', agentId: 'a-1', customerId: 'cust-a' };

  it('takes the feed’s event type only, and what access admits', () => {
    const all = eventFilter(feed, {}, () => true);
    expect(all(event(marketing))).toBe(true);
    expect(all(event(marketing, 'marketplace.trial.updated'))).toBe(false);
    const owner = eventFilter(feed, {}, (data) => data.customerId === 'cust-b');
    expect(owner(event(marketing))).toBe(false);
  });

  it('applies every filter argument given, fields of an input argument too; a missing or null one filters nothing', () => {
    const hears = (values: Record<string, unknown>) =>
      eventFilter(feed, values, () => true)(event(marketing));
    expect(hears({ filter: { category: 'MARKETING' } })).toBe(true);
    expect(hears({ filter: { category: 'SALES' } })).toBe(false);
    expect(hears({ filter: { category: 'MARKETING', agentId: 'a-2' } })).toBe(false);
    expect(hears({ filter: { category: null, agentId: 'a-1' } })).toBe(true);
    expect(hears({ filter: null })).toBe(true);
  });
});

describe('offering each subscriber only the events it could hear (eventRoute, routedListeners)', () => {
  const route = (name: string, caller: Caller | null, values: Record<string, unknown> = {}) => {
    const decision = feedAccess(name, subscriptionFeeds[name]!.access, caller);
    if ('error' in decision) throw decision.error;
    return eventRoute(subscriptionFeeds[name]!, values, decision);
  };

  it('routes by owner when the caller hears only its own events, else by the first filter given, else not at all', () => {
    expect(route('taskUpdated', as('cust-a', 'customer'))).toEqual({ field: 'customerId', value: 'cust-a' });
    // An operator hears every customer's tasks: by the task asked for, or every event.
    expect(route('taskUpdated', as('ops-1', 'operator'), { id: 't-1' })).toEqual({
      field: 'taskId',
      value: 't-1',
    });
    expect(route('taskUpdated', as('ops-1', 'operator'))).toBeUndefined();
    // Support hears tickets by tier, besides its own: no single field says which.
    expect(route('ticketUpdated', as('sup-1', 'support-l1'))).toBeUndefined();
    expect(route('activityFeed', null, { filter: { category: 'SALES' } })).toEqual({
      field: 'category',
      value: 'SALES',
    });
    expect(route('agentLifecycleChanged', null, { agentId: null })).toBeUndefined();
  });

  it('offers a routed listener only the events matching its route, an unrouted one all, and forgets removed ones', () => {
    const listeners = routedListeners<{ data: Record<string, unknown> }>((e) => e.data);
    const heard: string[] = [];
    const listen = (name: string, r?: { field: string; value: unknown }) =>
      listeners.add((e) => heard.push(`${name} ${String(e.data.n)}`), r);
    const removeA = listen('a', { field: 'customerId', value: 'cust-a' });
    listen('b', { field: 'customerId', value: 'cust-b' });
    listen('t', { field: 'taskId', value: 't-9' });
    listen('all');
    expect(listeners.size).toBe(4);
    listeners.deliver({ data: { n: 1, customerId: 'cust-a', taskId: 't-9' } });
    listeners.deliver({ data: { n: 2, customerId: 'cust-c' } });
    expect(heard.sort()).toEqual(['a 1', 'all 1', 'all 2', 't 1']);
    removeA();
    removeA(); // twice is once
    expect(listeners.size).toBe(3);
    heard.length = 0;
    listeners.deliver({ data: { n: 3, customerId: 'cust-a' } });
    expect(heard).toEqual(['all 3']);
  });
});
