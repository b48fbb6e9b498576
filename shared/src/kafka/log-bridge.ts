import type { logCreator } from 'kafkajs';
import { logLevel } from 'kafkajs';
import type { Logger } from '../logger';

/** Sends kafkajs's own logs into pino, keeping its namespace and fields. */
export function kafkaLogCreator(logger: Logger): logCreator {
  const child = logger.child({ component: 'kafkajs' });
  return () =>
    ({ namespace, level, log }) => {
      const { message, timestamp: _timestamp, logger: _kafkaLogger, ...fields } = log;
      const entry = { namespace, ...fields };
      // kafkajs logs every error response of the protocol (coordinator loading, leader moving) at
      // ERROR, though it retries them; what still fails after retries reaches the caller as an error.
      if (namespace === 'Connection' && message.startsWith('Response ')) {
        child.debug(entry, message);
        return;
      }
      switch (level) {
        case logLevel.ERROR:
          child.error(entry, message);
          break;
        case logLevel.WARN:
          child.warn(entry, message);
          break;
        case logLevel.INFO:
          child.info(entry, message);
          break;
        default:
          child.debug(entry, message);
      }
    };
}

/** kafkajs's level for a pino level: kafkajs's INFO is chatty, so it starts at WARN unless debugging. */
export function kafkaLogLevel(pinoLevel: string): logLevel {
  switch (pinoLevel) {
    case 'trace':
    case 'debug':
      return logLevel.INFO;
    case 'silent':
      return logLevel.NOTHING;
    case 'fatal':
    case 'error':
      return logLevel.ERROR;
    default:
      return logLevel.WARN;
  }
}
