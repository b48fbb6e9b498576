export { catalogue } from '../../generated';
export * from '../llm';
export { llmProviderFromConfig } from './environment';
export * from './fleet';
export * from './load';
export * from './runtime';
