import { randomFillSync } from 'node:crypto';

/** W3C trace context (https://www.w3.org/TR/trace-context/): `00-<trace id>-<span id>-<flags>`. */
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

export function isTraceparent(value: unknown): value is string {
  return (
    typeof value === 'string' &&
    TRACEPARENT.test(value) &&
    !/^00-0{32}-/.test(value) &&
    !/-0{16}-/.test(value)
  );
}

/**
 * Random bytes are drawn from a pool refilled 4 KiB at a time: every event gets a span id (and a new
 * trace a trace id), and `randomBytes(8)` per id cost about 8 us (a synchronous call into the
 * system's generator each time), more than building the rest of the envelope. A refill costs about
 * as much as one such call, so an id now costs a slice of a buffer.
 */
const POOL_BYTES = 4096;
let pool = Buffer.alloc(0);
let used = 0;

/** `bytes` random bytes as lower-case hex, never all zeros (W3C trace context forbids zero ids). */
function randomHex(bytes: number): string {
  for (;;) {
    if (used + bytes > pool.length) {
      pool = randomFillSync(Buffer.allocUnsafe(POOL_BYTES));
      used = 0;
    }
    const hex = pool.toString('hex', used, used + bytes);
    used += bytes;
    if (!/^0+$/.test(hex)) return hex;
  }
}

/** Starts a new trace. */
export function newTraceparent(): string {
  return `00-${randomHex(16)}-${randomHex(8)}-01`;
}

/** Continues the parent's trace with a new span id, or starts one when the parent is absent or malformed. */
export function childTraceparent(parent: string | undefined): string {
  if (!isTraceparent(parent)) return newTraceparent();
  const [, traceId, , flags] = TRACEPARENT.exec(parent)!;
  return `00-${traceId}-${randomHex(8)}-${flags}`;
}

export function traceIdOf(traceparent: string): string | undefined {
  return TRACEPARENT.exec(traceparent)?.[1];
}
