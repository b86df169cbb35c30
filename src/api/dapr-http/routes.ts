// The whole Dapr HTTP route table, as data. Order does not matter: fastify's router picks the most
// specific route (static segments before params).
import type { Core } from '../../core';
import type { Endpoint } from './endpoint';
import { bindingsEndpoints } from './bindings';
import { configurationEndpoints } from './configuration';
import { invokeEndpoints } from './invoke';
import { lockEndpoints } from './lock';
import { metadataEndpoints } from './metadata';
import { pubsubEndpoints } from './pubsub';
import { secretsEndpoints } from './secrets';
import { stateEndpoints } from './state';

export function daprHttpEndpoints(core: Core, maxBodySize: number): Endpoint[] {
  return [...stateEndpoints(core), ...metadataEndpoints(core), ...invokeEndpoints(core, maxBodySize), ...secretsEndpoints(core), ...lockEndpoints(core), ...configurationEndpoints(core), ...pubsubEndpoints(core), ...bindingsEndpoints(core)];
}
