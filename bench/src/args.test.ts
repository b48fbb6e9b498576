import { parseBenchArgs } from './args';

describe('bench arguments', () => {
  it('runs every scenario in order by default, with the full-run settings', () => {
    const o = parseBenchArgs([]);
    expect(o.scenarios).toEqual(['steady', 'max', 'burst', 'failures', 'ramp', 'browse']);
    expect(o).toMatchObject({
      quick: false,
      durationS: 60,
      warmupS: 20,
      rate: 250,
      window: 1000,
      maxDurationS: 30,
      baseline: true,
      agents: 120,
      ceiling: true,
      tracing: false,
      portOffset: 0,
    });
  });

  it('turns tracing on with --tracing', () => {
    expect(parseBenchArgs(['--tracing', '--scenario', 'steady'])).toMatchObject({
      tracing: true,
      scenarios: ['steady'],
    });
  });

  it('runs live only when named, with 10,000 clients at 100 tasks/s unless told otherwise', () => {
    expect(parseBenchArgs([]).scenarios).not.toContain('live');
    expect(parseBenchArgs(['--scenario', 'live'])).toMatchObject({
      scenarios: ['live'],
      liveClients: 10_000,
      liveRate: 100,
    });
    expect(parseBenchArgs(['--scenario', 'live', '--quick']).liveClients).toBe(300);
    expect(parseBenchArgs(['--scenario', 'live', '--clients', '1000', '--rate', '50'])).toMatchObject({
      liveClients: 1000,
      liveRate: 50,
      rate: 50,
    });
    expect(() => parseBenchArgs(['--clients', '0'])).toThrow(/--clients must be a number from 1/);
  });

  it('sizes max by its window and duration, and skips the baseline when told', () => {
    expect(parseBenchArgs(['--scenario', 'max', '--quick'])).toMatchObject({
      maxDurationS: 10,
      window: 1000,
    });
    expect(
      parseBenchArgs(['--scenario', 'max', '--window', '200', '--max-duration', '5', '--no-baseline']),
    ).toMatchObject({ scenarios: ['max'], window: 200, maxDurationS: 5, baseline: false });
    expect(() => parseBenchArgs(['--window', '2.5'])).toThrow(/--window must be a whole number/);
  });

  it('takes scenarios as a list or repeated, keeping the documented order', () => {
    expect(parseBenchArgs(['--scenario', 'ramp,steady']).scenarios).toEqual(['steady', 'ramp']);
    expect(parseBenchArgs(['--scenario', 'browse', '--scenario', 'burst']).scenarios).toEqual([
      'burst',
      'browse',
    ]);
  });

  it('shortens everything with --quick unless told otherwise', () => {
    expect(parseBenchArgs(['--quick'])).toMatchObject({
      durationS: 15,
      warmupS: 10,
      burstCount: 1,
      burstSize: 2000,
    });
    expect(parseBenchArgs(['--warmup', '0']).warmupS).toBe(0);
    expect(parseBenchArgs(['--quick', '--duration', '20']).durationS).toBe(20);
  });

  it('reads numbers, the port offset from the environment, and refuses nonsense', () => {
    expect(parseBenchArgs(['--rate', '300', '--duration', '30']).rate).toBe(300);
    expect(parseBenchArgs([], { BENCH_PORT_OFFSET: '100' }).portOffset).toBe(100);
    expect(parseBenchArgs(['--port-offset', '200'], { BENCH_PORT_OFFSET: '100' }).portOffset).toBe(200);
    expect(parseBenchArgs(['--no-ceiling']).ceiling).toBe(false);
    expect(() => parseBenchArgs(['--scenario', 'soak'])).toThrow(/unknown scenario soak/);
    expect(() => parseBenchArgs(['--rate', 'fast'])).toThrow(/--rate must be a number/);
    expect(() => parseBenchArgs(['--agents', '12.5'])).toThrow(/whole number/);
    expect(() => parseBenchArgs(['extra'])).toThrow(/unexpected argument/);
  });
});
