// nameresolution.kubernetes: the DNS names daprd's resolver forms; no lookups.
import { KubernetesResolver } from '.';

async function resolver(configuration: unknown): Promise<KubernetesResolver> {
  const r = new KubernetesResolver();
  await r.init({ instance: { appId: 'me', namespace: 'default', address: '', daprInternalPort: 50002 }, configuration });
  return r;
}

describe('nameresolution.kubernetes', () => {
  it('answers <id>-dapr.<namespace>.svc.cluster.local:<own internal port>', async () => {
    const r = await resolver(undefined);
    expect(await r.resolve({ id: 'orders', namespace: 'shop', port: 50002 })).toEqual({ host: 'orders-dapr.shop.svc.cluster.local', port: 50002 });
    expect(await r.resolve({ id: 'orders', namespace: '', port: 50002 })).toEqual({ host: 'orders-dapr.default.svc.cluster.local', port: 50002 });
  });

  it('uses clusterDomain', async () => {
    const r = await resolver({ clusterDomain: 'corp.internal' });
    expect(await r.resolve({ id: 'orders', namespace: 'shop', port: 50002 })).toEqual({ host: 'orders-dapr.shop.svc.corp.internal', port: 50002 });
  });

  it('uses a template over ID, Namespace, Port and Data', async () => {
    const r = await resolver({ template: '{{.ID}}-{{ .Data.region }}.{{.Namespace}}.internal:{{.Port}}' });
    expect(await r.resolve({ id: 'orders', namespace: 'shop', port: 6000, data: { region: 'eu' } })).toEqual({ host: 'orders-eu.shop.internal', port: 6000 });
  });

  it('rejects clusterDomain with template, other template actions, and a result without a port', async () => {
    await expect(resolver({ clusterDomain: 'a', template: '{{.ID}}:1' })).rejects.toThrow('mutually exclusive');
    await expect(resolver({ template: '{{.ID | printf}}:1' })).rejects.toThrow('unsupported template action');
    await expect((await resolver({ template: '{{.ID}}.svc' })).resolve({ id: 'x', namespace: 'n', port: 1 })).rejects.toThrow('expected host:port');
  });
});
