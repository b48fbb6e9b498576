import { z } from 'zod';
import { ConfigError, DEV_SECRETS, loadConfigOrExit, parseConfig, serviceEnvSchema } from '../index';

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
