// A filter Exchange for unit tests: an HTTP call on the Dapr HTTP API unless `over` says otherwise.
import type { Exchange } from '../src/mesh/filter';

export const exchange = (over: Partial<Exchange> = {}): Exchange => ({
  api: 'dapr-http',
  protocol: 'http',
  verb: 'GET',
  route: '',
  path: '/v1.0/metadata',
  headers: {},
  remoteAddress: '127.0.0.1',
  streaming: false,
  startNs: 0n,
  attrs: new Map(),
  ...over,
});
