import { cleanupStack, runIdOf } from './run';

describe('a run', () => {
  it('is named after when it started (UTC, to the second) and a random suffix', () => {
    const at = new Date('2025-01-31T12:34:56.789Z');
    const id = runIdOf(at);
    expect(id).toMatch(/^20250131123456-[0-9a-f]{4}$/);
    expect(runIdOf(at)).not.toBe(id);
  });

  it('stops what it started in reverse order, once each, logging a clean-up that fails', async () => {
    const logged: string[] = [];
    const { cleanups, stopAll } = cleanupStack('bench', (line) => logged.push(line));
    const stopped: string[] = [];
    cleanups.push(async () => void stopped.push('platform'));
    cleanups.push(async () => {
      stopped.push('kafka');
      throw new Error('already closed');
    });
    cleanups.push(async () => void stopped.push('subscribers'));

    await stopAll();
    await stopAll();
    expect(stopped).toEqual(['subscribers', 'kafka', 'platform']);
    expect(logged).toEqual(['[bench] cleanup: already closed']);
  });
});
