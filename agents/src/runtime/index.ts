export { catalogue } from '../../generated';
export * from './fleet';
export * from './load';
export * from './runtime';
