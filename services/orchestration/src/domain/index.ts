// The orchestrator's domain rules (dispatch order, the backlog of queued tasks, what an ended attempt does,
// workflow graphs): pure code we own, re-exported in one place so the service imports them without reaching
// into individual files. The saga state machine is shared with the marketplace's trial activation, so it
// lives in @waooaw/shared (saga/machine.ts).
export * from './priority-queue';
export * from './dag';
export * from './attempt-outcome';
export * from './backlog';
export * from './agent-performance';
export * from './silence';
