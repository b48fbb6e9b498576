import { createHmac } from 'node:crypto';
import { SkillInputError } from '../types';
import { pct, round } from './kit/numbers';
import { jsonResult } from './kit/render';
import type { CapabilityImpl } from './kit/request';
import { askOf, detailList, detailNumber, detailRecords, detailString, num, str } from './kit/request';
import { contentWords, hash, overlap, quoted, stem, titleCase } from './kit/text';

/** Requests per second from text like "2,000 tickets an hour" or "30 rps" (undefined when absent). */
function ratePerSecond(text: string): number | undefined {
  const m =
    /(\d+(?:,\d{3})*(?:\.\d+)?)\s*(k)?\s*[a-z ]*?(?:per|an?|\/)\s*(second|sec|s|minute|min|hour|hr|h|day)\b/i.exec(
      text,
    );
  if (!m?.[1]) return undefined;
  const n = Number(m[1].replace(/,/g, '')) * (m[2] ? 1000 : 1);
  const unit = (m[3] ?? 's').toLowerCase();
  return n / (unit.startsWith('d') ? 86_400 : unit.startsWith('h') ? 3600 : unit.startsWith('m') ? 60 : 1);
}

/** A time window in hours from "last 24 hours", "last hour", "last 7 days" (default 24). */
function windowHours(text: string, fallback = 24): number {
  const m = /last\s+(\d+)?\s*(minute|hour|day|week)/i.exec(text);
  if (!m) return fallback;
  const n = Number(m[1] ?? 1);
  const unit = (m[2] ?? 'hour').toLowerCase();
  return unit === 'minute' ? n / 60 : unit === 'day' ? n * 24 : unit === 'week' ? n * 168 : n;
}

const NAMESPACE_NOISE = new Set([
  'cache',
  'hit',
  'ratio',
  'namespace',
  'hours',
  'queue',
  'rebalance',
  'agents',
]);
/** A cache/pool namespace from the request: a hyphenated name if given, else its first two content words. */
const namespaceOf = (text: string): string =>
  /\b([a-z]+(?:-[a-z]+)+)\b/.exec(text)?.[1] ??
  (contentWords(text)
    .filter((w) => !NAMESPACE_NOISE.has(w))
    .slice(0, 2)
    .join('-') ||
    'default');

const planCacheStrategy: CapabilityImpl = (request) => {
  const ask = askOf(request);
  const d = ask.details;
  const reads = detailNumber(d, 'readsPerSecond') ?? ratePerSecond(ask.request) ?? 50;
  const writes = detailNumber(d, 'writesPerSecond') ?? 0.05;
  const keys = Math.max(1, detailNumber(d, 'distinctKeys') ?? 500);
  const staleSeconds =
    detailNumber(d, 'maxStalenessSeconds') ?? (/\b(price|stock|balance)\b/i.test(ask.request) ? 30 : 300);
  // A key's entry lives until its TTL expires or a write invalidates it; each life starts with one miss.
  const life = Math.min(staleSeconds, keys / Math.max(writes, 1e-9));
  const readsPerLife = (reads / keys) * life;
  const hitRatio = round(readsPerLife / (readsPerLife + 1), 3);
  const ns = namespaceOf(ask.request);
  return jsonResult(
    request,
    `Cache strategy: ${ns}`,
    `TTL ${staleSeconds}s, expected hit ratio ${pct(hitRatio, 1)}%`,
    {
      namespace: ns,
      keyPattern: `${ns}:v1:{id}${/\blist|listing|search\b/i.test(ask.request) ? ':{filtersHash}:{page}' : ''}`,
      ttlSeconds: staleSeconds,
      inputs: { readsPerSecond: round(reads, 3), writesPerSecond: writes, distinctKeys: keys },
      expectedHitRatio: hitRatio,
      expectedOriginReadsPerSecond: round(reads * (1 - hitRatio), 3),
      invalidateOn: [`${ns}.updated`, `${ns}.deleted`],
      recommendation:
        hitRatio < 0.5
          ? 'low reuse per key: cache a coarser aggregate or skip caching'
          : 'cache-aside with tag invalidation',
    },
  );
};

const invalidateCache: CapabilityImpl = (request) => {
  const ask = askOf(request);
  const m = /\b(tag(?:ged)?|prefix|key)\s+["']?([\w:.*/-]+)/i.exec(ask.request);
  const mode = m?.[1]?.toLowerCase().startsWith('tag') ? 'tag' : (m?.[1]?.toLowerCase() ?? 'key');
  const target = detailString(ask.details, 'target') ?? m?.[2];
  if (!target) throw new SkillInputError('say what to invalidate: "key X", "prefix X" or "tagged X"');
  const entries = detailRecords(ask.details, 'entries');
  const matched = entries.filter((e) =>
    mode === 'tag'
      ? detailList(e, 'tags').includes(target)
      : mode === 'prefix'
        ? str(e, 'key').startsWith(target)
        : str(e, 'key') === target,
  );
  return jsonResult(
    request,
    'Cache invalidation',
    `invalidate ${mode} ${target}: ${matched.length} of ${entries.length} known entries`,
    {
      mode,
      target,
      command:
        mode === 'tag'
          ? `SMEMBERS tag:${target} | DEL`
          : mode === 'prefix'
            ? `SCAN MATCH ${target}* | UNLINK`
            : `DEL ${target}`,
      matchedKeys: matched.map((e) => str(e, 'key')),
      keptEntries: entries.length - matched.length,
    },
  );
};

const reportHitRatio: CapabilityImpl = (request) => {
  const ask = askOf(request);
  const hours = windowHours(ask.request);
  const rows = detailRecords(ask.details, 'keys').map((k) => {
    const hits = num(k, 'hits') ?? 0;
    const misses = num(k, 'misses') ?? 0;
    return {
      key: str(k, 'key'),
      hits,
      misses,
      evictions: num(k, 'evictions') ?? 0,
      hitRatio: pct(hits, hits + misses),
    };
  });
  const hits = rows.reduce((s, r) => s + r.hits, 0);
  const misses = rows.reduce((s, r) => s + r.misses, 0);
  const hot = [...rows].sort((a, b) => b.hits + b.misses - (a.hits + a.misses) || a.key.localeCompare(b.key));
  return jsonResult(
    request,
    `Hit ratio: ${namespaceOf(ask.request)}`,
    `${pct(hits, hits + misses)}% hit ratio over ${hours}h (${rows.length} keys)`,
    {
      namespace: namespaceOf(ask.request),
      windowHours: hours,
      from: new Date(request.context.now.getTime() - hours * 3_600_000).toISOString(),
      hits,
      misses,
      hitRatioPercent: pct(hits, hits + misses),
      evictions: rows.reduce((s, r) => s + r.evictions, 0),
      requestsPerSecond: round((hits + misses) / (hours * 3600), 3),
      hotKeys: hot.slice(0, 5),
      coldKeys: rows.filter((r) => r.hitRatio < 50 && r.hits + r.misses > 0).map((r) => r.key),
    },
  );
};

/** Agent handles ("wow-support") in a text, in order. */
const handlesIn = (text: string): string[] => text.match(/\bwow-[a-z]+(?:-[a-z]+)*\b/g) ?? [];

const DEFAULT_CARD = {
  protocolVersions: ['1.0'],
  inputModes: ['application/json', 'text/markdown'],
  outputModes: ['application/json', 'text/markdown'],
};

const negotiateProtocol: CapabilityImpl = (request) => {
  const ask = askOf(request);
  const [from = 'sender', to = 'receiver'] = handlesIn(ask.request);
  const card = (key: string) => {
    const c = ask.details[key];
    const r = typeof c === 'object' && c !== null ? (c as Record<string, unknown>) : {};
    return {
      protocolVersions: detailList(r, 'protocolVersions').length
        ? detailList(r, 'protocolVersions')
        : DEFAULT_CARD.protocolVersions,
      inputModes: detailList(r, 'inputModes').length ? detailList(r, 'inputModes') : DEFAULT_CARD.inputModes,
      outputModes: detailList(r, 'outputModes').length
        ? detailList(r, 'outputModes')
        : DEFAULT_CARD.outputModes,
    };
  };
  const a = card('from');
  const b = card('to');
  const versions = a.protocolVersions
    .filter((v) => b.protocolVersions.includes(v))
    .sort((x, y) => y.localeCompare(x, undefined, { numeric: true }));
  const modes = a.outputModes.filter((m) => b.inputModes.includes(m));
  const wanted = /\b[a-z]+\/[a-z.+-]+\b/.exec(ask.request)?.[0];
  const ok = versions.length > 0 && modes.length > 0 && (!wanted || modes.includes(wanted));
  return jsonResult(
    request,
    `Protocol: ${from} -> ${to}`,
    ok ? `agreed v${versions[0]} with ${wanted ?? modes[0]}` : 'no compatible protocol',
    {
      from,
      to,
      compatible: ok,
      protocolVersion: versions[0] ?? null,
      modes,
      requestedMode: wanted ?? null,
      problems: [
        ...(versions.length ? [] : ['no shared protocol version']),
        ...(wanted && !modes.includes(wanted) ? [`${to} does not accept ${wanted}`] : []),
      ],
    },
  );
};

const deliverMessage: CapabilityImpl = (request) => {
  const ask = askOf(request);
  const to = handlesIn(ask.request)[0] ?? detailString(ask.details, 'to');
  if (!to) throw new SkillInputError('name the receiving agent (e.g. wow-analytics)');
  const attempts = Math.min(10, detailNumber(ask.details, 'maxAttempts') ?? 5);
  const baseMs = detailNumber(ask.details, 'baseDelayMs') ?? 500;
  const start = request.context.now.getTime();
  let at = start;
  const schedule = Array.from({ length: attempts }, (_, i) => {
    if (i > 0) at += baseMs * 2 ** (i - 1);
    return { attempt: i + 1, at: new Date(at).toISOString(), delayMs: i === 0 ? 0 : baseMs * 2 ** (i - 1) };
  });
  const correlationId = `msg-${hash(`${ask.request}|${start}|${to}`).toString(16).padStart(8, '0')}`;
  return jsonResult(request, `Delivery to ${to}`, `${correlationId} to ${to}, up to ${attempts} attempts`, {
    correlationId,
    to,
    from: request.manifest.handle,
    retryPolicy: { maxAttempts: attempts, backoff: 'exponential', baseDelayMs: baseMs },
    schedule,
    giveUpAt: schedule[schedule.length - 1]?.at,
    receipt: {
      awaitReceipt: /\breceipt|wait\b/i.test(ask.request),
      timeoutMs: at - start + baseMs * 2 ** attempts,
    },
  });
};

const traceConversation: CapabilityImpl = (request) => {
  const ask = askOf(request);
  const traceId =
    /\b(?:trace|conversation)\s+([0-9a-f-]{3,})\b/i.exec(ask.request)?.[1] ??
    detailString(ask.details, 'traceId');
  if (!traceId) throw new SkillInputError('give the trace id (e.g. "trace 7f3a")');
  const spans = detailRecords(ask.details, 'spans')
    .map((s) => ({
      from: str(s, 'from'),
      to: str(s, 'to'),
      at: str(s, 'at'),
      status: str(s, 'status') || 'ok',
    }))
    .sort((a, b) => a.at.localeCompare(b.at));
  const gaps = spans
    .slice(1)
    .map((s, i) => ({ after: i, ms: Date.parse(s.at) - Date.parse(spans[i]?.at ?? s.at) }));
  const failed = spans.findIndex((s) => s.status !== 'ok');
  const longest = [...gaps].sort((a, b) => b.ms - a.ms)[0];
  const stallAt = failed >= 0 ? failed : longest && longest.ms > 5000 ? longest.after : -1;
  return jsonResult(
    request,
    `Trace ${traceId}`,
    stallAt >= 0
      ? `stalled at hop ${stallAt + 1} of ${spans.length}`
      : `${spans.length} hops, no stall found`,
    {
      traceId,
      hops: spans.map((s, i) => ({ hop: i + 1, ...s, waitMs: i === 0 ? 0 : (gaps[i - 1]?.ms ?? 0) })),
      stall:
        stallAt >= 0
          ? {
              hop: stallAt + 1,
              ...spans[stallAt],
              reason: failed >= 0 ? 'failed status' : `no reply for ${longest?.ms}ms`,
            }
          : null,
      note: spans.length
        ? undefined
        : 'no spans supplied in details.spans; load them from the trace store for this id',
    },
  );
};

const SENSITIVE: [RegExp, string][] = [
  [/\b\d{4}\s?\d{4}\s?\d{4}\b/, 'aadhaar-like number'],
  [/[\w.+-]+@[\w-]+\.[\w.]+/, 'email address'],
  [/(?:\+91[\s-]?)?\b[6-9]\d{9}\b/, 'phone number'],
  [/\b(diagnos\w*|medical|health|salary|password)\b/i, 'sensitive topic'],
];

const storeContext: CapabilityImpl = (request) => {
  const ask = askOf(request);
  const fact = (/\bremember (?:that )?(.+)$/i.exec(ask.request)?.[1] ?? ask.request).replace(/[.\s]+$/, '');
  const reasons = SENSITIVE.filter(([re]) => re.test(fact)).map(([, why]) => why);
  const sensitivity = reasons.some((r) => r !== 'sensitive topic')
    ? 'restricted'
    : reasons.length
      ? 'confidential'
      : 'internal';
  const retentionDays =
    detailNumber(ask.details, 'retentionDays') ??
    (sensitivity === 'restricted' ? 30 : sensitivity === 'confidential' ? 90 : 365);
  const id = `mem-${hash(fact.toLowerCase()).toString(16)}`;
  return jsonResult(request, 'Context stored', `${id} stored as ${sensitivity} for ${retentionDays} days`, {
    id,
    fact,
    keywords: contentWords(fact).map(stem),
    sensitivity,
    sensitivityReasons: reasons,
    retentionDays,
    expiresAt: new Date(request.context.now.getTime() + retentionDays * 86_400_000).toISOString(),
    dedupeKey: id,
  });
};

const recallContext: CapabilityImpl = (request) => {
  const ask = askOf(request);
  const budget = detailNumber(ask.details, 'tokenBudget') ?? 200;
  const now = request.context.now.getTime();
  const q = contentWords(ask.request);
  const ranked = detailRecords(ask.details, 'facts')
    .map((f) => {
      const ageDays = Math.max(0, (now - (Date.parse(str(f, 'at')) || now)) / 86_400_000);
      const score = round(0.8 * overlap(q, contentWords(str(f, 'text'))) + 0.2 * Math.exp(-ageDays / 90), 3);
      return {
        text: str(f, 'text'),
        at: str(f, 'at') || null,
        score,
        tokens: Math.ceil(str(f, 'text').split(/\s+/).length * 1.3),
      };
    })
    .sort((a, b) => b.score - a.score || a.text.localeCompare(b.text));
  let used = 0;
  const kept = ranked.filter(
    (f) => f.score > 0.2 && (used + f.tokens <= budget ? ((used += f.tokens), true) : false),
  );
  return jsonResult(
    request,
    'Recalled context',
    `${kept.length} of ${ranked.length} facts within ${budget} tokens`,
    {
      query: ask.request,
      tokenBudget: budget,
      tokensUsed: used,
      facts: kept,
      dropped: ranked.length - kept.length,
    },
  );
};

const summarizeHistory: CapabilityImpl = (request) => {
  const ask = askOf(request);
  const months = Number(/(\d+)\s*months?/i.exec(ask.request)?.[1] ?? 3);
  const since = new Date(request.context.now.getTime() - months * 30 * 86_400_000).toISOString();
  const sessions = detailRecords(ask.details, 'sessions').filter(
    (s) => !str(s, 'at') || str(s, 'at') >= since,
  );
  const sentences = sessions.flatMap((s) =>
    str(s, 'text')
      .split(/(?<=[.!?])\s+/)
      .filter(Boolean),
  );
  const pick = (re: RegExp) => sentences.filter((t) => re.test(t));
  return jsonResult(
    request,
    'History summary',
    `${sessions.length} sessions since ${since.slice(0, 10)} compacted to ${sentences.length} lines`,
    {
      since,
      sessions: sessions.length,
      decisions: pick(/\b(decided|agreed|will|chose|confirmed)\b/i),
      preferences: pick(/\b(prefers?|likes?|wants?|always|never)\b/i),
      openItems: pick(/\?|\b(todo|pending|follow up|next time)\b/i),
      topics: contentWords(sentences.join(' ')).reduce<Record<string, number>>(
        (acc, w) => ({ ...acc, [w]: (acc[w] ?? 0) + 1 }),
        {},
      ),
    },
  );
};

const forecastCapacity: CapabilityImpl = (request) => {
  const ask = askOf(request);
  const history = (Array.isArray(ask.details.history) ? ask.details.history : []).filter(
    (n): n is number => typeof n === 'number',
  );
  const days = Number(/(\d+)\s*days?/i.exec(ask.request)?.[1] ?? 7);
  if (days < 1) throw new SkillInputError('forecast at least 1 day ahead (e.g. "forecast 14 days")');
  const n = history.length;
  const mean = n
    ? history.reduce((s, v) => s + v, 0) / n
    : (detailNumber(ask.details, 'baselinePerDay') ?? 10_000);
  // Least-squares slope over the history gives the trend per day.
  const slope =
    n > 1
      ? history.reduce((s, v, i) => s + (i - (n - 1) / 2) * (v - mean), 0) /
        history.reduce((s, _, i) => s + (i - (n - 1) / 2) ** 2, 0)
      : 0;
  const season = /\b(jee|neet|board|exam|cbse)\b/i.test(ask.request)
    ? 2.5
    : /\b(diwali|festival|sale|dussehra)\b/i.test(ask.request)
      ? 1.8
      : 1;
  const forecast = Array.from({ length: Math.min(days, 60) }, (_, i) => ({
    date: new Date(request.context.now.getTime() + (i + 1) * 86_400_000).toISOString().slice(0, 10),
    requests: Math.round(Math.max(0, mean + slope * ((n - 1) / 2 + i + 1)) * season),
  }));
  const peak = Math.max(...forecast.map((f) => f.requests));
  return jsonResult(
    request,
    'Capacity forecast',
    `peak ${peak} requests/day over ${forecast.length} days (x${season} season)`,
    {
      basis: n ? `${n} days of history` : 'no details.history; baseline assumed',
      meanPerDay: round(mean, 1),
      trendPerDay: round(slope, 2),
      seasonalMultiplier: season,
      forecast,
      peakPerDay: peak,
      peakRequestsPerSecond: round((peak / 86_400) * 3, 3),
    },
  );
};

const recommendReplicas: CapabilityImpl = (request) => {
  const ask = askOf(request);
  const lambda = detailNumber(ask.details, 'requestsPerSecond') ?? ratePerSecond(ask.request);
  if (lambda === undefined)
    throw new SkillInputError('give the load, e.g. "2,000 tickets an hour" or details.requestsPerSecond');
  const serviceSec = (detailNumber(ask.details, 'serviceTimeMs') ?? 2000) / 1000;
  const perInstance =
    detailNumber(ask.details, 'concurrencyPerInstance') ?? request.manifest.runtime.concurrency;
  const targetUtil = detailNumber(ask.details, 'targetUtilisation') ?? 0.7;
  const inFlight = lambda * serviceSec; // Little's law: L = lambda * W
  const replicas = Math.max(2, Math.ceil(inFlight / (perInstance * targetUtil)));
  return jsonResult(request, 'Replica recommendation', `${replicas} replicas for ${round(lambda, 3)} req/s`, {
    target: handlesIn(ask.request)[0] ?? null,
    arrivalPerSecond: round(lambda, 4),
    serviceTimeSeconds: serviceSec,
    averageInFlight: round(inFlight, 2),
    concurrencyPerInstance: perInstance,
    targetUtilisation: targetUtil,
    replicas,
    utilisationAtRecommendation: round(inFlight / (replicas * perInstance), 3),
    minimumWithoutHeadroom: Math.max(1, Math.ceil(inFlight / perInstance)),
  });
};

const rebalanceWorkload: CapabilityImpl = (request) => {
  const ask = askOf(request);
  const inst = detailRecords(ask.details, 'instances').map((r) => ({
    id: str(r, 'id'),
    queued: num(r, 'queued') ?? 0,
    weight: num(r, 'weight') ?? 1,
  }));
  const total = inst.reduce((s, i) => s + i.queued, 0);
  const weights = inst.reduce((s, i) => s + i.weight, 0) || 1;
  const target = new Map(inst.map((i) => [i.id, Math.round((total * i.weight) / weights)]));
  const surplus = inst.map((i) => ({ id: i.id, d: i.queued - (target.get(i.id) ?? 0) }));
  const givers = surplus.filter((s) => s.d > 0).sort((a, b) => b.d - a.d);
  const takers = surplus.filter((s) => s.d < 0).sort((a, b) => a.d - b.d);
  const moves: { from: string; to: string; tasks: number }[] = [];
  for (const g of givers)
    for (const t of takers) {
      const n = Math.min(g.d, -t.d);
      if (n <= 0) continue;
      moves.push({ from: g.id, to: t.id, tasks: n });
      g.d -= n;
      t.d += n;
    }
  return jsonResult(
    request,
    'Workload rebalance',
    `${moves.reduce((s, m) => s + m.tasks, 0)} tasks moved across ${inst.length} instances`,
    {
      pool: namespaceOf(ask.request),
      totalQueued: total,
      targets: Object.fromEntries(target),
      moves,
      note: inst.length
        ? undefined
        : 'no details.instances ({ id, queued, weight }) supplied: nothing to move',
    },
  );
};

/** Event name parts: "marketplace.trial.started" -> context, entity, action. */
function eventParts(
  text: string,
): { name: string; context: string; entity: string; action: string } | undefined {
  const name = /\b([a-z]+(?:\.[a-z_-]+){2,})\b/.exec(text)?.[1];
  if (!name) return undefined;
  const parts = name.split('.');
  return { name, context: parts[0] ?? '', entity: parts[1] ?? '', action: parts[parts.length - 1] ?? '' };
}

/** Routing rules: which agents subscribe to which event patterns. */
const ROUTING_RULES: { pattern: RegExp; subscribers: string[] }[] = [
  { pattern: /^marketplace\.trial\./, subscribers: ['wow-analytics', 'wow-notification', 'wow-memory'] },
  { pattern: /^billing\./, subscribers: ['wow-analytics', 'wow-notification'] },
  { pattern: /^identity\.agent\./, subscribers: ['wow-search', 'wow-cache'] },
  { pattern: /\.(updated|deleted|changed)$/, subscribers: ['wow-cache'] },
  { pattern: /./, subscribers: ['wow-analytics'] },
];

const routeEvent: CapabilityImpl = (request) => {
  const ask = askOf(request);
  const ev = eventParts(ask.request);
  if (!ev)
    throw new SkillInputError('name the event as context.entity.action (e.g. marketplace.trial.started)');
  const rate = detailNumber(ask.details, 'eventsPerSecond') ?? 50;
  const consumerRate = detailNumber(ask.details, 'consumerEventsPerSecond') ?? 20;
  const subscribers = [
    ...new Set(ROUTING_RULES.filter((r) => r.pattern.test(ev.name)).flatMap((r) => r.subscribers)),
  ].sort();
  return jsonResult(
    request,
    `Route ${ev.name}`,
    `${ev.name} -> ${ev.context}.events keyed by ${ev.entity}Id, ${subscribers.length} subscribers`,
    {
      event: ev.name,
      topic: `${ev.context}.events`,
      partitionKey: `${ev.entity}Id`,
      partitions: Math.max(3, Math.ceil((rate / consumerRate) * 1.5)),
      subscribers,
      ordering: `per ${ev.entity}Id (same key, same partition)`,
      deadLetterTopic: `${ev.context}.events.dlq`,
    },
  );
};

type FieldSpec = Record<string, { type?: string; required?: boolean }>;
const fieldsOf = (v: unknown): FieldSpec =>
  typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as FieldSpec) : {};

const validateContract: CapabilityImpl = (request) => {
  const ask = askOf(request);
  const before = fieldsOf(ask.details.before);
  const after = fieldsOf(ask.details.after);
  const changes: { field: string; change: string; breaking: boolean }[] = [];
  for (const [f, spec] of Object.entries(before)) {
    const now = after[f];
    if (!now) changes.push({ field: f, change: 'removed', breaking: true });
    else if (spec.type !== now.type)
      changes.push({ field: f, change: `type ${spec.type} -> ${now.type}`, breaking: true });
    else if (!spec.required && now.required)
      changes.push({ field: f, change: 'made required', breaking: true });
  }
  for (const [f, spec] of Object.entries(after))
    if (!before[f])
      changes.push({
        field: f,
        change: `added ${spec.required ? 'required' : 'optional'}`,
        breaking: !!spec.required,
      });
  // Without schemas, classify the change the question describes with the same rules.
  if (!changes.length) {
    const t = ask.request.toLowerCase();
    const field = quoted(ask.request) ?? 'field';
    if (/\b(add|adding)\b/.test(t))
      changes.push({
        field,
        change: `added ${/\brequired\b/.test(t) ? 'required' : 'optional'}`,
        breaking: /\brequired\b/.test(t) && !/\bdefault\b/.test(t),
      });
    if (/\b(remov|delet|renam)/.test(t))
      changes.push({ field, change: 'removed or renamed', breaking: true });
    if (/\b(type|int|string)\b.*\bchang|\bchang\w*\b.*\btype\b/.test(t))
      changes.push({ field, change: 'type changed', breaking: true });
  }
  const breaking = changes.filter((c) => c.breaking).length;
  return jsonResult(
    request,
    'Contract check',
    breaking
      ? `${breaking} breaking change(s): bump the major version`
      : `${changes.length} change(s), none breaking`,
    {
      event: eventParts(ask.request)?.name ?? null,
      changes,
      breaking: breaking > 0,
      versionBump: breaking ? 'major' : changes.length ? 'minor' : 'none',
      advice: breaking
        ? 'publish a new major version topic or add a default so old producers stay valid'
        : 'compatible for existing consumers',
    },
  );
};

const TRANSIENT = /\b(timeout|timed out|5\d\d|unavailable|connection|throttl)/i;

const replayDeadLetters: CapabilityImpl = (request) => {
  const ask = askOf(request);
  const topic = /\b([a-z]+\.[a-z.]+)\b/.exec(ask.request)?.[1] ?? detailString(ask.details, 'topic');
  if (!topic) throw new SkillInputError('name the topic whose dead letters to replay');
  const from = new Date(
    request.context.now.getTime() - windowHours(ask.request, 1) * 3_600_000,
  ).toISOString();
  const seen = new Set<string>();
  const results = detailRecords(ask.details, 'messages')
    .filter((m) => !str(m, 'at') || str(m, 'at') >= from)
    .map((m) => {
      const id = str(m, 'id');
      const duplicate = seen.has(id);
      seen.add(id);
      const outcome = duplicate
        ? 'skipped-duplicate'
        : TRANSIENT.test(str(m, 'error'))
          ? 'replayed'
          : 'kept-poison';
      return { id, error: str(m, 'error'), outcome };
    });
  const count = (o: string) => results.filter((r) => r.outcome === o).length;
  return jsonResult(
    request,
    `Replay ${topic}.dlq`,
    `${count('replayed')} replayed, ${count('kept-poison')} kept, ${count('skipped-duplicate')} duplicates since ${from}`,
    {
      topic,
      window: { from, to: request.context.now.toISOString() },
      idempotencyKey: 'message id (replayed ids are recorded and never sent twice)',
      results,
    },
  );
};

/** Items of an English list: "trials, deliverables and conversions" -> three items. */
const listItems = (text: string): string[] =>
  (afterColonOr(text) ?? text)
    .split(/,|\band\b|\bor\b/)
    .map((s) =>
      contentWords(s)
        .filter((w) => !['model', 'map', 'context', 'depend', 'each', 'other'].includes(w))
        .join(' '),
    )
    .filter(Boolean);
const afterColonOr = (t: string): string | undefined =>
  t.includes(':') ? t.slice(t.indexOf(':') + 1) : undefined;
const singular = (w: string) => titleCase(w.replace(/ies$/, 'y').replace(/s$/, '')).replace(/\s+/g, '');

const modelBoundedContext: CapabilityImpl = (request) => {
  const ask = askOf(request);
  const name = /\bmodel (?:the )?(\w+)/i.exec(ask.request)?.[1] ?? 'core';
  const items = listItems(ask.request).map(singular);
  if (!items.length)
    throw new SkillInputError(
      'list the concepts of the context, e.g. "Model the trial context: trials, deliverables"',
    );
  const [root = 'Root', ...rest] = items;
  return jsonResult(request, `Bounded context: ${name}`, `${root} aggregate with ${rest.length} entities`, {
    context: name,
    aggregates: [
      { root, entities: rest, valueObjects: [`${root}Id`, ...rest.map((e) => `${e}Id`), 'Period'] },
    ],
    invariants: [
      `a ${root} is changed only through its root`,
      ...rest.map((e) => `every ${e} belongs to exactly one ${root}`),
    ],
    domainEvents: items.flatMap((e) => [
      `${name}.${e.toLowerCase()}.created`,
      `${name}.${e.toLowerCase()}.updated`,
    ]),
    commands: items.map((e) => `Create${e}`),
  });
};

const mapContextRelations: CapabilityImpl = (request) => {
  const ask = askOf(request);
  const deps = detailRecords(ask.details, 'dependencies');
  const contexts = deps.length
    ? [...new Set(deps.flatMap((d) => [str(d, 'from'), str(d, 'to')]))]
    : listItems(ask.request.replace(/^.*?\bhow\b/i, ''));
  if (contexts.length < 2) throw new SkillInputError('name at least two bounded contexts');
  // Without explicit dependencies, each listed context is taken as upstream of the ones after it.
  const edges = deps.length
    ? deps.map((d) => ({
        downstream: str(d, 'from'),
        upstream: str(d, 'to'),
        shared: detailList(d, 'sharedModels'),
      }))
    : contexts
        .slice(1)
        .map((c, i) => ({ downstream: c, upstream: contexts[i] ?? '', shared: [] as string[] }));
  const pairs = new Set(edges.map((e) => `${e.downstream}>${e.upstream}`));
  return jsonResult(request, 'Context map', `${contexts.length} contexts, ${edges.length} relations`, {
    contexts,
    relations: edges.map((e) => ({
      ...e,
      pattern: e.shared.length
        ? 'anti-corruption layer (shared models leak)'
        : /identity/i.test(e.upstream)
          ? 'conformist'
          : 'customer/supplier',
      cycle: pairs.has(`${e.upstream}>${e.downstream}`),
    })),
    leakingModels: edges.flatMap((e) => e.shared.map((m) => `${m} (${e.upstream} -> ${e.downstream})`)),
  });
};

const GLOSSARY: Record<string, string[]> = {
  hire: ['purchase', 'buy', 'subscribe', 'order'],
  subscription: ['membership', 'plan', 'license'],
  agent: ['bot', 'assistant', 'worker'],
  trial: ['demo', 'pilot', 'free period'],
  customer: ['client', 'buyer', 'user'],
  deliverable: ['output', 'artifact', 'result'],
};

const checkLanguage: CapabilityImpl = (request) => {
  const ask = askOf(request);
  const text = detailString(ask.details, 'text') ?? ask.request;
  const focus = ask.request.match(/"([^"]+)"/g)?.map((q) => q.replace(/"/g, '').toLowerCase()) ?? [];
  const drifts = Object.entries(GLOSSARY)
    .filter(([term]) => !focus.length || focus.includes(term))
    .flatMap(([term, bad]) =>
      bad.flatMap((b) => {
        const n = (text.match(new RegExp(`\\b${b}\\w*`, 'gi')) ?? []).length;
        return n ? [{ found: b, occurrences: n, use: term }] : [];
      }),
    );
  return jsonResult(
    request,
    'Ubiquitous-language check',
    drifts.length ? `${drifts.length} drifting term(s)` : 'no drift found',
    {
      checkedTerms: focus.length ? focus : Object.keys(GLOSSARY),
      checkedCharacters: text.length,
      drifts,
      source: detailString(ask.details, 'text')
        ? 'details.text'
        : 'request (pass code or schema in details.text)',
    },
  );
};

const WEBHOOK_EVENTS = [
  'trial.started',
  'trial.converted',
  'trial.cancelled',
  'deliverable.created',
  'subscription.renewed',
];

const registerWebhook: CapabilityImpl = (request) => {
  const ask = askOf(request);
  const raw = /\bhttps?:\/\/\S+/i.exec(ask.request)?.[0] ?? detailString(ask.details, 'url');
  if (!raw) throw new SkillInputError('give the endpoint URL to register');
  let url: URL;
  try {
    url = new URL(raw.replace(/[.,)]+$/, ''));
  } catch {
    throw new SkillInputError(`not a valid URL: ${raw}`);
  }
  const problems = [
    ...(url.protocol === 'https:' ? [] : ['endpoint must use https']),
    ...(/^(localhost|127\.|10\.|192\.168\.|172\.(1[6-9]|2\d|3[01])\.)/.test(url.hostname)
      ? ['private or loopback host is not reachable']
      : []),
  ];
  const words = contentWords(ask.request).map(stem);
  const events = WEBHOOK_EVENTS.filter((e) => words.some((w) => e.startsWith(`${w}.`)));
  const secret = `whsec_${hash(`${url.href}|${request.context.now.toISOString()}`).toString(16)}`;
  const challenge = hash(url.href).toString(36);
  return jsonResult(
    request,
    'Webhook registration',
    problems.length
      ? `rejected: ${problems.join('; ')}`
      : `${url.host}: ${events.length || WEBHOOK_EVENTS.length} events, challenge pending`,
    {
      url: url.href,
      status: problems.length ? 'rejected' : 'pending-verification',
      problems,
      events: events.length ? events : WEBHOOK_EVENTS,
      verification: {
        challenge,
        expectedSignature: createHmac('sha256', secret).update(challenge).digest('hex'),
        header: 'X-Waooaw-Signature',
      },
      secretRef: `vault:webhooks/${hash(url.href).toString(16)}`,
    },
  );
};

const LEAD_CONTRACT: Record<string, string[]> = {
  name: ['full_name', 'name', 'first_name', 'last_name'],
  email: ['email', 'email_address', 'mail'],
  phone: ['phone', 'mobile', 'phone_number', 'contact_number'],
  company: ['company', 'organisation', 'organization', 'account_name'],
  source: ['lead_source', 'source', 'channel'],
  status: ['lead_status', 'status', 'stage'],
};
const ZOHO_LEAD_FIELDS = [
  'First_Name',
  'Last_Name',
  'Email',
  'Mobile',
  'Company',
  'Lead_Source',
  'Lead_Status',
  'Annual_Revenue',
];

const mapApi: CapabilityImpl = (request) => {
  const ask = askOf(request);
  const source = detailList(ask.details, 'sourceFields').length
    ? detailList(ask.details, 'sourceFields')
    : ZOHO_LEAD_FIELDS;
  const norm = (f: string) => f.toLowerCase().replace(/[^a-z0-9]+/g, '_');
  const mapping = Object.entries(LEAD_CONTRACT).map(([target, aliases]) => {
    const from = source.filter((f) => aliases.includes(norm(f)));
    return {
      target,
      from,
      transform: from.length > 1 ? `join(${from.join(', ')}, " ")` : from.length ? 'copy' : null,
    };
  });
  const used = new Set(mapping.flatMap((m) => m.from));
  const missing = mapping.filter((m) => !m.from.length).map((m) => m.target);
  return jsonResult(
    request,
    'API mapping',
    `${mapping.length - missing.length}/${mapping.length} contract fields mapped`,
    {
      sourceFields: source,
      mapping,
      unmappedTargetFields: missing,
      unusedSourceFields: source.filter((f) => !used.has(f)),
    },
  );
};

const auditAccess: CapabilityImpl = (request) => {
  const ask = askOf(request);
  const days = Number(/(\d+)\s*days/i.exec(ask.request)?.[1] ?? 90);
  const cutoff = request.context.now.getTime() - days * 86_400_000;
  const findings = detailRecords(ask.details, 'accounts').flatMap((a) => {
    const last = Date.parse(str(a, 'lastUsed'));
    const admin = /admin|owner|root/i.test(str(a, 'role'));
    const stale = Number.isNaN(last) || last < cutoff;
    const out: { account: string; severity: string; issue: string }[] = [];
    if (admin && stale)
      out.push({ account: str(a, 'user'), severity: 'high', issue: `admin rights unused for ${days}+ days` });
    else if (stale)
      out.push({ account: str(a, 'user'), severity: 'medium', issue: `no use in ${days} days` });
    if (detailList(a, 'grants').includes('*'))
      out.push({ account: str(a, 'user'), severity: 'high', issue: 'wildcard grant' });
    return out;
  });
  return jsonResult(request, 'Access audit', `${findings.length} finding(s) at ${days}-day staleness`, {
    staleAfterDays: days,
    cutoff: new Date(cutoff).toISOString(),
    accountsChecked: detailRecords(ask.details, 'accounts').length,
    findings,
    action: findings.length
      ? 'revoke or downgrade the listed accounts'
      : 'supply details.accounts ({ user, role, lastUsed, grants }) to audit',
  });
};

const SECRET_RULES: { rule: string; re: RegExp; severity: 'critical' | 'high' | 'medium'; fix: string }[] = [
  {
    rule: 'aws-access-key',
    re: /\bAKIA[0-9A-Z]{16}\b/,
    severity: 'critical',
    fix: 'rotate the key and load it from the secret store',
  },
  {
    rule: 'private-key',
    re: /-----BEGIN [A-Z ]*PRIVATE KEY-----/,
    severity: 'critical',
    fix: 'remove the key and rotate it',
  },
  {
    rule: 'password-literal',
    re: /\b\w*(password|passwd|secret|token|api_?key)\w*\s*[:=]\s*["']?[^\s"'$]{4,}/i,
    severity: 'high',
    fix: 'reference ${ENV} or a secret instead of a literal',
  },
  {
    rule: 'privileged-container',
    re: /privileged:\s*true/i,
    severity: 'high',
    fix: 'drop privileged mode; add only needed capabilities',
  },
  {
    rule: 'public-bind',
    re: /["']?0\.0\.0\.0:\d+/,
    severity: 'medium',
    fix: 'bind to 127.0.0.1 or an internal network',
  },
  { rule: 'plain-http', re: /\bhttp:\/\/(?!localhost|127\.)/i, severity: 'medium', fix: 'use https' },
  {
    rule: 'debug-enabled',
    re: /\bDEBUG\s*[:=]\s*["']?(true|1)\b/i,
    severity: 'medium',
    fix: 'disable debug outside development',
  },
];

const scanSecrets: CapabilityImpl = (request) => {
  const ask = askOf(request);
  const content = detailString(ask.details, 'content') ?? detailString(ask.details, 'diff') ?? ask.request;
  const findings = content.split('\n').flatMap((line, i) =>
    SECRET_RULES.filter((r) => r.re.test(line)).map((r) => ({
      line: i + 1,
      rule: r.rule,
      severity: r.severity,
      remediation: r.fix,
    })),
  );
  const worst = ['critical', 'high', 'medium'].find((s) => findings.some((f) => f.severity === s)) ?? 'none';
  return jsonResult(request, 'Secret scan', `${findings.length} finding(s), worst ${worst}`, {
    linesScanned: content.split('\n').length,
    findings,
    worstSeverity: worst,
    blockMerge: worst === 'critical' || worst === 'high',
  });
};

export const platformOpsCapabilities: Record<string, CapabilityImpl> = {
  'cache.plan-strategy': planCacheStrategy,
  'cache.invalidate': invalidateCache,
  'cache.report-hit-ratio': reportHitRatio,
  'messaging.negotiate-protocol': negotiateProtocol,
  'messaging.deliver-message': deliverMessage,
  'messaging.trace-conversation': traceConversation,
  'memory.store-context': storeContext,
  'memory.recall-context': recallContext,
  'memory.summarize-history': summarizeHistory,
  'scaling.forecast-capacity': forecastCapacity,
  'scaling.recommend-replicas': recommendReplicas,
  'scaling.rebalance-workload': rebalanceWorkload,
  'event.route': routeEvent,
  'event.validate-contract': validateContract,
  'event.replay-dead-letters': replayDeadLetters,
  'domain.model-bounded-context': modelBoundedContext,
  'domain.map-context-relations': mapContextRelations,
  'domain.check-language': checkLanguage,
  'integration.register-webhook': registerWebhook,
  'integration.map-api': mapApi,
  'security.audit-access': auditAccess,
  'security.scan-secrets': scanSecrets,
};
