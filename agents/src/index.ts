export * from './manifest';
export * from './skills';
