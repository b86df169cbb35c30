import { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import pino from 'pino';
import { ComponentStore } from '../components/store';
import { createCore } from '../core';
import { accessControlHooks } from './access-control';

const core = () => createCore({ components: new ComponentStore(), appId: 'me', namespace: '', runtimeVersion: 'test' }, { protocol: 'grpc', channelAddress: '127.0.0.1' });
const silent = pino({ level: 'silent' });
const spec = {
  defaultAction: 'deny',
  trustDomain: '',
  policies: [{ appId: 'x', defaultAction: '', trustDomain: 'public', namespace: 'default', operations: [{ name: '/pkg.S/M', httpVerb: [], action: 'allow' }] }],
};

describe('access control hooks', () => {
  it('no spec: no hooks, and the core allows everything', () => {
    const c = core();
    expect(accessControlHooks(c, undefined, 'http', silent)).toEqual({});
    expect(c.invoke.authorize({ method: 'm', verb: 'GET', headers: {} })).toBeUndefined();
  });

  it('the internal server hook is the core decision (gRPC app: operations match exactly, no verbs)', () => {
    const c = core();
    const hooks = accessControlHooks(c, spec, 'grpc', silent);
    expect(hooks.internal!({ appId: 'me', method: '/pkg.S/M', verb: 'POST', query: '', headers: { 'dapr-caller-app-id': ['x'] }, contentType: '', body: undefined as never })).toBeUndefined();
    expect(c.invoke.authorize({ method: '/pkg.s/m', verb: 'NONE', headers: { 'dapr-caller-app-id': ['x'] } })).toMatch(/denied/);
  });

  it('proxied calls: the headers name the caller on a plain connection, the certificate (never the headers) on a TLS one', () => {
    const hooks = accessControlHooks(core(), spec, 'grpc', silent);
    const asX = { 'dapr-caller-app-id': ['x'] };
    expect(hooks.proxy!({ method: '/pkg.S/M', headers: asX, from: 'sidecar', socket: new Socket() })).toBeUndefined();
    expect(hooks.proxy!({ method: '/pkg.S/M', headers: { 'dapr-caller-app-id': ['y'] }, from: 'sidecar', socket: undefined })).toMatch(/id: spiffe:\/\/public\/ns\/default\/y /);
    // A TLS connection whose peer was not verified proves nobody: the global default, whatever the headers say.
    const tls = new TLSSocket(new Socket());
    try {
      expect(hooks.proxy!({ method: '/pkg.S/M', headers: asX, from: 'sidecar', socket: tls })).toBe('access control policy has denied access to id: <nil> operation: /pkg.S/M verb: NONE');
    } finally {
      tls.destroy();
    }
    // From this sidecar's own app (toApp stamped its id): the app is the caller.
    expect(hooks.proxy!({ method: '/pkg.S/M', headers: { 'dapr-caller-app-id': ['me'] }, from: 'app', socket: undefined })).toMatch(/id: spiffe:\/\/public\/ns\/default\/me /);
  });
});
