import pino from 'pino';
import { traceLogFields } from './tracing/spans';

export type Logger = pino.Logger;

/**
 * JSON logs on stdout (pino); one logger per process, children per component. A line written inside
 * a span carries its `trace_id` and `span_id` (when tracing is on), so logs and traces join.
 */
export function createLogger(
  name: string,
  level: string = process.env.LOG_LEVEL ?? 'info',
  /** Where lines go instead of stdout (tests read them back). */
  destination?: pino.DestinationStream,
): Logger {
  const options: pino.LoggerOptions = {
    name,
    level,
    base: { service: name },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    mixin: traceLogFields,
  };
  return destination ? pino(options, destination) : pino(options);
}
