export * from './provider';
export * from './enrich';
