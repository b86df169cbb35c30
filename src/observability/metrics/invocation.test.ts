import { Readable } from 'node:stream';
import type { InvokeRequest, InvokeResponse } from '../../core/invoke/types';
import { countAppCalls } from './invocation';
import { MetricsRegistry } from './registry';

const request = (): InvokeRequest => ({ appId: 'me', method: 'm', verb: 'GET', query: '', headers: {}, contentType: '', body: Readable.from([]) });
const answer = (res: Partial<InvokeResponse>): InvokeResponse => ({ status: 200, headers: {}, contentType: '', body: Readable.from([]), ...res });

async function value(m: MetricsRegistry, name: string, labels: Record<string, string>): Promise<number> {
  const metric = (await m.registry.getMetricsAsJSON()).find((x) => x.name === name);
  const hit = metric?.values.find((v) => Object.entries(labels).every(([k, want]) => String((v.labels as Record<string, unknown>)[k]) === want));
  return hit?.value ?? 0;
}

describe('countAppCalls', () => {
  const registry = () => new MetricsRegistry({ appId: 'me', namespace: '', httpPathLabel: true, recordErrorCodes: false });

  it('HTTP apps: completed requests by the status they answered', async () => {
    const m = registry();
    const inv = countAppCalls(m, { invoke: async () => answer({ status: 404 }) }, false);
    await inv.invoke(request());
    expect(await value(m, 'dapr_http_client_completed_count', { app_id: 'me', status: '404' })).toBe(1);
  });

  it('gRPC apps: OnInvoke by Go code name, failures with a code counted too', async () => {
    const m = registry();
    const ok = countAppCalls(m, { invoke: async () => answer({ grpc: { code: 5, message: 'nope' } }) }, true);
    await ok.invoke(request());
    const failing = countAppCalls(m, { invoke: async () => Promise.reject(Object.assign(new Error('down'), { code: 14 })) }, true);
    await expect(failing.invoke(request())).rejects.toThrow('down');
    const method = '/dapr.proto.runtime.v1.AppCallback/OnInvoke';
    expect(await value(m, 'dapr_grpc_io_client_completed_rpcs', { grpc_client_method: method, grpc_client_status: 'NotFound' })).toBe(1);
    expect(await value(m, 'dapr_grpc_io_client_completed_rpcs', { grpc_client_method: method, grpc_client_status: 'Unavailable' })).toBe(1);
  });
});
