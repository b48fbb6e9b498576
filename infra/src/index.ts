export { down, launcherOptions, status, up } from './launcher';
export type { LauncherOptions, ServerState, ServerStatus, UpResult } from './launcher';
export type { ServerName } from './servers';
export { MissingToolError } from './tools';
export { KAFKA_VERSION, MONGO_JAVA_SERVER_VERSION } from './versions';
export {
  discoverServices,
  METRICS_PORT_OFFSET,
  platformAddresses,
  spawnService,
  startPlatform,
  waitServiceReady,
} from './platform';
export type { PlatformOptions, PlatformService, RunningPlatform } from './platform';
export { freePort, freePorts } from './process';
