// createAppChannel: the channel for --app-protocol (http, https, h2c → HTTP; grpc, grpcs → gRPC).
import { GrpcAppChannel } from './grpc';
import { HttpAppChannel } from './http';
import type { AppChannel, AppChannelOptions } from './types';

export type * from './types';
export { GrpcAppChannel } from './grpc';
export { HttpAppChannel } from './http';
export { Semaphore } from './concurrency';
export { AppHealth, HealthCheckedChannel, healthChecked, type AppHealthOptions } from './health';

export const APP_PROTOCOLS = ['http', 'https', 'h2c', 'grpc', 'grpcs'] as const;

export function createAppChannel(opts: AppChannelOptions): AppChannel {
  switch (opts.protocol.toLowerCase()) {
    case 'http':
    case 'https':
    case 'h2c':
      return new HttpAppChannel(opts);
    case 'grpc':
    case 'grpcs':
      return new GrpcAppChannel(opts);
    default:
      throw new Error(`unknown app protocol ${JSON.stringify(opts.protocol)}: expected one of ${APP_PROTOCOLS.join(', ')}`);
  }
}
