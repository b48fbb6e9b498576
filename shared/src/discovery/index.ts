export * from './types';
export * from './load-balancer';
export * from './circuit-breaker';
export * from './health';
