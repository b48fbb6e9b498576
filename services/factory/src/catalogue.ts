import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from '@waooaw/shared';
import type { Factory } from './factory';

/**
 * Loads the agent catalogue (agents/definitions/*.yaml) through the factory, activating each agent.
 * Idempotent: definitions already built are confirmed, not rebuilt, so every start may load it.
 */
export async function loadCatalogue(
  factory: Factory,
  dir: string,
  logger: Logger,
): Promise<{ submitted: number; failed: string[] }> {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .sort();
  const failed: string[] = [];
  for (const file of files) {
    try {
      await factory.submit(readFileSync(path.join(dir, file), 'utf8'), {
        actor: 'catalogue',
        activate: true,
      });
    } catch (err) {
      failed.push(file);
      logger.error({ file, error: (err as Error).message }, 'catalogue definition not loaded');
    }
  }
  logger.info(
    { dir, submitted: files.length - failed.length, failed: failed.length },
    'agent catalogue submitted',
  );
  return { submitted: files.length - failed.length, failed };
}
