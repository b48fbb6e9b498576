import { z } from 'zod';
import {
  ConfigError,
  DEV_SECRETS,
  loadConfigOrExit,
  logicalTopic,
  namespacedDb,
  namespacedGroup,
  namespacedTopic,
  parseConfig,
  resolveDlqTopic,
  serviceEnvSchema,
} from '../index';

describe('configuration from the environment', () => {
  const schema = serviceEnvSchema(4001);

  it('applies the documented defaults', () => {
    const config = parseConfig(schema, {});
    expect(config).toMatchObject({
      PORT: 4001,
      KAFKA_BROKERS: ['127.0.0.1:9092'],
      MONGO_URL: 'mongodb://127.0.0.1:27017',
      NODE_ENV: 'development',
    });
  });

  it('takes a short WAOOAW_NAMESPACE of name characters; none by default, which leaves every name as it is', () => {
    expect(parseConfig(schema, {}).WAOOAW_NAMESPACE).toBe('');
    expect(parseConfig(schema, { WAOOAW_NAMESPACE: 'dev-ana_2' }).WAOOAW_NAMESPACE).toBe('dev-ana_2');
    expect(() => parseConfig(schema, { WAOOAW_NAMESPACE: 'a.b' })).toThrow(
      /WAOOAW_NAMESPACE: use letters, digits, dash or underscore/,
    );
    expect(() => parseConfig(schema, { WAOOAW_NAMESPACE: 'x'.repeat(25) })).toThrow(
      /WAOOAW_NAMESPACE: must be at most 24 characters/,
    );
    expect([
      namespacedTopic('', 'identity.commands'),
      namespacedGroup('', 'g'),
      namespacedDb('', 'db'),
    ]).toEqual(['identity.commands', 'g', 'db']);
    expect([
      namespacedTopic('ns', 'identity.commands'),
      namespacedGroup('ns', 'g'),
      namespacedDb('ns', 'db'),
    ]).toEqual(['ns.identity.commands', 'ns.g', 'ns_db']);
  });

  it('names a topic on the broker back by its logical name: the namespace prefix removed, if it is there', () => {
    expect(logicalTopic('ns', 'ns.identity.commands')).toBe('identity.commands');
    expect(logicalTopic('ns', namespacedTopic('ns', 'orders.placed.dlq'))).toBe('orders.placed.dlq');
    // Already logical: another namespace's prefix, or none, is part of the name.
    expect(logicalTopic('ns', 'identity.commands')).toBe('identity.commands');
    expect(logicalTopic('ns', 'nsx.identity.commands')).toBe('nsx.identity.commands');
    expect(logicalTopic('ns', 'other.ns.identity.commands')).toBe('other.ns.identity.commands');
    // No namespace: every name is logical, whatever it starts with.
    expect(logicalTopic('', 'ns.identity.commands')).toBe('ns.identity.commands');
  });

  it('resolves the dead-letter topic an operator names, in the namespace unless the name carries it', () => {
    expect(resolveDlqTopic('orders.placed', 'ns')).toBe('ns.orders.placed.dlq');
    expect(resolveDlqTopic('ns.orders.placed', 'ns')).toBe('ns.orders.placed.dlq');
    expect(resolveDlqTopic('orders.placed.dlq', 'ns')).toBe('ns.orders.placed.dlq');
    expect(resolveDlqTopic('ns.orders.placed.dlq', 'ns')).toBe('ns.orders.placed.dlq');
    expect(resolveDlqTopic('orders.placed')).toBe('orders.placed.dlq');
  });

  it('parses broker lists and numbers', () => {
    const config = parseConfig(schema, { KAFKA_BROKERS: 'a:9092, b:9093', PORT: '5000' });
    expect(config.KAFKA_BROKERS).toEqual(['a:9092', 'b:9093']);
    expect(config.PORT).toBe(5000);
  });

  it('reports every invalid variable at once', () => {
    const env = { PORT: 'http', MONGO_URL: 'postgres://x', KAFKA_BROKERS: 'no-port', LOG_LEVEL: 'loud' };
    const error = (() => {
      try {
        parseConfig(schema, env);
      } catch (e) {
        return e as ConfigError;
      }
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect(error!.problems.map((p) => p.split(':')[0]).sort()).toEqual([
      'KAFKA_BROKERS',
      'LOG_LEVEL',
      'MONGO_URL',
      'PORT',
    ]);
  });

  it('refuses the development default secrets in production only', () => {
    expect(parseConfig(schema, { NODE_ENV: 'development' }).CALLER_TOKEN_SECRET).toBe(
      DEV_SECRETS.CALLER_TOKEN_SECRET,
    );
    expect(() => parseConfig(schema, { NODE_ENV: 'production' })).toThrow(
      /CALLER_TOKEN_SECRET: is the development default/,
    );
    const own = 'a-production-secret-of-at-least-32-characters';
    expect(
      parseConfig(schema, { NODE_ENV: 'production', CALLER_TOKEN_SECRET: own }).CALLER_TOKEN_SECRET,
    ).toBe(own);
  });

  it('prints every problem and exits with 1 at start-up', () => {
    const lines: string[] = [];
    const exit = jest.fn((code: number): never => {
      throw new Error(`exit ${code}`);
    });
    expect(() =>
      loadConfigOrExit(schema.extend({ SECRET: z.string() }), { PORT: '-1' }, exit, (l) => lines.push(l)),
    ).toThrow('exit 1');
    expect(exit).toHaveBeenCalledWith(1);
    expect(lines.join('\n')).toMatch(/PORT/);
    expect(lines.join('\n')).toMatch(/SECRET/);
  });
});
