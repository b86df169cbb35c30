// Access control in the invocation core: the callee's decision on calls from other sidecars, the
// caller's answer when the callee denies (HTTP 403 ERR_DIRECT_INVOKE), the caller's namespace sent.
import { Readable } from 'node:stream';
import { ComponentStore } from '../../components/store';
import { RuntimeError } from '../../errors/runtime-error';
import { AccessControl } from './acl';
import { InvokeCore } from './index';
import type { InvokeRequest, Invoker } from './types';

const ctx = (namespace = '') => ({ components: new ComponentStore(), appId: 'me', namespace, runtimeVersion: 'test' });
const req = (over: Partial<InvokeRequest> = {}): InvokeRequest => ({
  appId: 'me',
  method: 'allowed/1',
  verb: 'POST',
  query: '',
  headers: {},
  contentType: 'text/plain',
  body: Readable.from([]),
  length: 0,
  ...over,
});

const acl = AccessControl.from(
  { defaultAction: 'deny', trustDomain: '', policies: [{ appId: 'x', defaultAction: '', trustDomain: 'public', namespace: 'default', operations: [{ name: '/allowed/*', httpVerb: ['POST'], action: 'allow' }] }] },
  true,
);

describe('InvokeCore.authorize (callee side)', () => {
  it('no access control: every call', () => {
    expect(new InvokeCore(ctx()).authorize(req())).toBeUndefined();
  });

  it("the calling sidecar's app id decides without mTLS; a verified identity wins over it", () => {
    const core = new InvokeCore(ctx());
    core.setAccessControl(acl);
    expect(core.authorize(req({ headers: { 'dapr-caller-app-id': ['x'] } }))).toBeUndefined();
    expect(core.authorize(req({ headers: { 'dapr-caller-app-id': ['y'] } }))).toBe('access control policy has denied access to id: spiffe://public/ns/default/y operation: allowed/1 verb: POST');
    expect(core.authorize(req({ headers: { 'dapr-caller-app-id': ['x'] }, verb: 'GET' }))).toMatch(/verb: GET$/);
    expect(core.authorize(req({ headers: { 'dapr-caller-app-id': ['x'] }, callerIdentity: { appId: 'y', namespace: 'default', trustDomain: 'public' } }))).toMatch(/id: spiffe:\/\/public\/ns\/default\/y /);
    expect(core.authorize(req({ headers: { 'dapr-caller-app-id': ['y'] }, callerIdentity: { appId: 'x', namespace: 'default', trustDomain: 'public' } }))).toBeUndefined();
    expect(core.authorize(req())).toBe('access control policy has denied access to id: <nil> operation: allowed/1 verb: POST');
  });
});

describe('the caller side', () => {
  it('a PERMISSION_DENIED from the callee sidecar is ERR_DIRECT_INVOKE with HTTP 403 (gRPC Internal)', async () => {
    const core = new InvokeCore(ctx(), {
      remote: () => ({ invoke: () => Promise.reject(Object.assign(new Error('rpc error: code = PermissionDenied desc = denied'), { code: 7 })) }),
    });
    const e = (await core.invoke(req({ appId: 'other' })).catch((x: unknown) => x)) as RuntimeError;
    expect(e).toBeInstanceOf(RuntimeError);
    expect([e.code, e.row.http, e.row.grpc, e.message]).toEqual(['ERR_DIRECT_INVOKE', 403, 13, 'failed to invoke, id: other, err: rpc error: code = PermissionDenied desc = denied']);
  });

  it('sends dapr-caller-namespace when the sidecar has a namespace, replacing what the app sent', async () => {
    const seen: InvokeRequest[] = [];
    const remote: Invoker = { invoke: async (r) => (seen.push(r), { status: 200, headers: {}, contentType: '', body: Readable.from([]) }) };
    await new InvokeCore(ctx('prod'), { remote: () => remote }).invoke(req({ appId: 'other', headers: { 'dapr-caller-namespace': ['spoof'] } }));
    await new InvokeCore(ctx(''), { remote: () => remote }).invoke(req({ appId: 'other', headers: { 'dapr-caller-namespace': ['spoof'] } }));
    expect(seen.map((r) => [r.headers['dapr-caller-app-id'], r.headers['dapr-caller-namespace']])).toEqual([
      [['me'], ['prod']],
      [['me'], undefined],
    ]);
  });
});
