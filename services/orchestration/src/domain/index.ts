// The orchestrator's domain rules (dispatch order, workflow graphs, sagas): pure code we own, re-exported in
// one place so the service imports them without reaching into individual files.
export * from './priority-queue';
export * from './dag';
export * from './saga';
