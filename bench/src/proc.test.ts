import { createProcessSampler, parseProcStat, parseRssKb, readProcess } from './proc';
import { progressLine } from './progress';

describe('process figures from /proc', () => {
  it('reads CPU ticks even when the command name has spaces and parentheses', () => {
    const stat =
      '4242 (node (worker) x) S 1 4242 4242 0 -1 4194560 6123 0 0 0 1500 320 0 0 20 0 11 0 12345 1000 2000';
    expect(parseProcStat(stat)).toEqual({ utime: 1500, stime: 320 });
  });

  it('reads the resident set size in kB', () => {
    expect(parseRssKb('Name:\tnode\nVmPeak:\t 100 kB\nVmRSS:\t  204800 kB\nThreads:\t11\n')).toBe(204800);
    expect(parseRssKb('Name:\tzombie\n')).toBeNull();
  });

  it('reads this very process', () => {
    const me = readProcess(process.pid);
    expect(me!.ticks).toBeGreaterThanOrEqual(0);
    expect(me!.rssKb).toBeGreaterThan(1000);
    expect(readProcess(2 ** 22 + 7)).toBeNull();
  });

  it('reports the resident set at the start and the end of a window, and its peak', () => {
    const rssMb = () => (readProcess(process.pid)?.rssKb ?? 0) / 1024;
    const sampler = createProcessSampler(10_000);
    const before = rssMb();
    sampler.start([{ name: 'bench', pid: process.pid }]);
    const held = Buffer.alloc(64 * 1024 * 1024, 1); // touched pages: resident
    const grown = rssMb();
    const [me] = sampler.stop();
    const after = rssMb();
    expect(held.length).toBeGreaterThan(0);
    expect(me).toMatchObject({ name: 'bench', pid: process.pid });
    // The figures are the readings at the window's two ends (how much the allocation adds to the
    // resident set depends on what the allocator had kept from before, so it is not asserted).
    expect(Math.abs(me!.rssStartMb! - before)).toBeLessThan(8);
    expect(Math.abs(me!.rssEndMb! - Math.max(grown, after))).toBeLessThan(8);
    expect(me!.rssMaxMb).toBeGreaterThanOrEqual(me!.rssEndMb!);
  });

  it('draws a progress bar', () => {
    expect(progressLine(0.5, 'steady', 10)).toBe('[#####.....]  50%  steady');
    expect(progressLine(2, 'x', 4)).toBe('[####] 100%  x');
    expect(progressLine(NaN, 'x', 4)).toBe('[....]   0%  x');
  });
});
