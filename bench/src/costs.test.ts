import type { CostCounters } from './costs';
import { taskCosts } from './costs';
import { samplesByLabel } from './prom-text';
import type { ProcessFigure } from './report';

const figure = (name: string, cpuMs: number | null): ProcessFigure => ({
  name,
  pid: 1,
  cpuPercent: null,
  cpuMs,
  rssMaxMb: null,
  rssStartMb: null,
  rssEndMb: null,
});

describe('costs per task', () => {
  it('sums a counter by one label from Prometheus text', () => {
    const text = [
      '# HELP waooaw_kafka_requests_total Requests',
      '# TYPE waooaw_kafka_requests_total counter',
      'waooaw_kafka_requests_total{api="Produce",service="orchestration"} 120',
      'waooaw_kafka_requests_total{service="orchestration",api="Fetch"} 30',
      'waooaw_kafka_requests_total{api="Produce",service="other"} 5',
      'waooaw_kafka_requests_totally_different{api="Produce"} 999',
      'waooaw_kafka_requests_total 7',
    ].join('\n');
    expect(samplesByLabel(text, 'waooaw_kafka_requests_total', 'api')).toEqual({
      Produce: 125,
      Fetch: 30,
      '': 7,
    });
    expect(samplesByLabel('', 'x', 'api')).toEqual({});
  });

  it('divides the window increase by completed tasks, leaving out the bench and MongoDB housekeeping', () => {
    const before: CostCounters = {
      kafkaRequests: { Produce: 100, Fetch: 50, Heartbeat: 10 },
      kafkaRequestsByProcess: {
        orchestration: { Produce: 60, Fetch: 30 },
        gateway: { Fetch: 20, Heartbeat: 10 },
        'runtime bench-main': { Produce: 40 },
      },
      unreachable: [],
      mongoCommands: { find: 10, update: 40, hello: 3 },
      mongoByCollection: { 'update db.tasks': 40 },
      mongoScans: { 'db.tasks': 2 },
    };
    const after: CostCounters = {
      kafkaRequests: { Produce: 300, Fetch: 250, Heartbeat: 30, OffsetCommit: 20 },
      // The runtime did not answer at the end; the marketplace not at the start.
      kafkaRequestsByProcess: {
        orchestration: { Produce: 160, Fetch: 130, OffsetCommit: 20 },
        gateway: { Fetch: 120, Heartbeat: 30 },
        marketplace: { Produce: 5 },
      },
      unreachable: ['runtime bench-crash'],
      mongoCommands: { find: 110, update: 440, hello: 503, findandmodify: 100 },
      mongoByCollection: { 'update db.tasks': 440, 'find db.tasks': 100 },
      mongoScans: { 'db.tasks': 42, 'db.instances': 20 },
    };
    const costs = taskCosts(
      before,
      after,
      [figure('orchestration', 1500), figure('kafka', 700), figure('mongo', 300), figure('bench', 99_999)],
      400,
    );
    // 2,500 ms of platform CPU over 400 tasks; the bench's own CPU is not the platform's.
    expect(costs.platformCpuMsPerTask).toBe(6.25);
    // find 100 + update 400 + findAndModify 100 = 600 commands; 500 hellos are the drivers' monitoring.
    expect(costs.mongoCommandsPerTask).toBe(1.5);
    expect(costs.kafkaRequestsPerTask).toEqual({ produce: 0.5, fetch: 0.5, all: 1.1 });
    // 40 + 20 whole-collection scans over 400 tasks.
    expect(costs.mongoScansPerTask).toBe(0.15);
    expect(costs.counts).toEqual({
      mongoCommands: { find: 100, update: 400, hello: 500, findandmodify: 100 },
      mongoByCollection: { 'update db.tasks': 400, 'find db.tasks': 100 },
      mongoScans: { 'db.tasks': 40, 'db.instances': 20 },
      kafkaRequests: { Produce: 200, Fetch: 200, Heartbeat: 20, OffsetCommit: 20 },
      // Each process's own increase, only for those read at both ends.
      kafkaRequestsByProcess: {
        orchestration: { Produce: 100, Fetch: 100, OffsetCommit: 20 },
        gateway: { Fetch: 100, Heartbeat: 20 },
      },
      unreachable: ['runtime bench-crash'],
    });
  });

  it('reports null rather than a guess when a count is missing or nothing completed', () => {
    const none: CostCounters = {
      kafkaRequests: null,
      kafkaRequestsByProcess: {},
      unreachable: ['gateway'],
      mongoCommands: null,
      mongoByCollection: null,
      mongoScans: null,
    };
    const costs = taskCosts(none, none, [figure('gateway', null)], 10);
    expect(costs).toMatchObject({
      platformCpuMsPerTask: null,
      mongoCommandsPerTask: null,
      mongoScansPerTask: null,
      kafkaRequestsPerTask: null,
    });
    const some: CostCounters = {
      kafkaRequests: { Produce: 1 },
      kafkaRequestsByProcess: { orchestration: { Produce: 1 } },
      unreachable: [],
      mongoCommands: { find: 1 },
      mongoByCollection: null,
      mongoScans: null,
    };
    expect(taskCosts(some, some, [figure('kafka', 10)], 0)).toMatchObject({
      platformCpuMsPerTask: null,
      mongoCommandsPerTask: null,
      kafkaRequestsPerTask: null,
    });
  });
});
