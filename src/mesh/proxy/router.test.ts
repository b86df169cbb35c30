import { meshProxySchema, type RouteConfig } from './config';
import { ProxyConfigError } from './errors';
import { grpcParts, hostOf, type RouteRequest, Router } from './router';

function routes(list: Record<string, unknown>[]): RouteConfig[] {
  return meshProxySchema.parse({ apiVersion: 'v1', kind: 'MeshProxy', metadata: { name: 'm' }, spec: { listeners: [{ name: 'l', address: 1, routes: list }] } }).spec.listeners[0]!.routes;
}

const req = (r: Partial<RouteRequest>): RouteRequest => ({ host: 'svc.local', path: '/', method: 'GET', headers: {}, grpc: false, ...r });
const routed = (router: Router, r: Partial<RouteRequest>) => router.match(req(r))?.name;

describe('hostOf', () => {
  it('drops the port and lower-cases, IPv6 included', () => {
    expect(hostOf('API.Local:8080')).toBe('api.local');
    expect(hostOf('[::1]:80')).toBe('::1');
    expect(hostOf(undefined)).toBe('');
  });
});

describe('Router', () => {
  it('matches hosts exactly, by "*.suffix", "prefix.*" and "*", in order', () => {
    const r = new Router('l', routes([
      { name: 'exact', match: { host: 'api.local' }, cluster: 'c' },
      { name: 'suffix', match: { host: '*.svc.local' }, cluster: 'c' },
      { name: 'prefix', match: { host: 'cache.*' }, cluster: 'c' },
      { name: 'any', match: { host: '*' }, cluster: 'c' },
    ]), []);
    expect(routed(r, { host: 'api.local' })).toBe('exact');
    expect(routed(r, { host: 'a.svc.local' })).toBe('suffix');
    expect(routed(r, { host: 'svc.local' })).toBe('any'); // "*.svc.local" needs something before the dot
    expect(routed(r, { host: 'cache.eu' })).toBe('prefix');
    expect(routed(r, { host: 'other' })).toBe('any');
  });

  it('matches paths exactly, by prefix and by a whole-path regex (query excluded by the caller)', () => {
    const r = new Router('l', routes([
      { name: 'exact', match: { path: '/healthz' }, cluster: 'c' },
      { name: 'regex', match: { pathRegex: '/users/[0-9]+' }, cluster: 'c' },
      { name: 'prefix', match: { pathPrefix: '/api/' }, cluster: 'c' },
    ]), []);
    expect(routed(r, { path: '/healthz' })).toBe('exact');
    expect(routed(r, { path: '/healthz/x' })).toBeUndefined();
    expect(routed(r, { path: '/users/42' })).toBe('regex');
    expect(routed(r, { path: '/users/42/x' })).toBeUndefined(); // the regex must match the whole path
    expect(routed(r, { path: '/api/v1' })).toBe('prefix');
  });

  it('matches headers exact, by regex, present/absent, inverted, and several values joined', () => {
    const r = new Router('l', routes([
      { name: 'exact', match: { headers: [{ name: 'X-Env', exact: 'canary' }] }, cluster: 'c' },
      { name: 'regex', match: { headers: [{ name: 'x-user', regex: 'u-[0-9]+' }] }, cluster: 'c' },
      { name: 'absent', match: { headers: [{ name: 'x-debug', present: false }, { name: 'x-team', exact: 'a', invert: true }] }, cluster: 'c' },
      { name: 'present', match: { headers: [{ name: 'x-debug' }] }, cluster: 'c' },
    ]), []);
    expect(routed(r, { headers: { 'x-env': 'canary' } })).toBe('exact');
    expect(routed(r, { headers: { 'x-user': 'u-12' } })).toBe('regex');
    expect(routed(r, { headers: { 'x-user': 'u-12x', 'x-debug': '1' } })).toBe('present');
    expect(routed(r, { headers: {} })).toBe('absent');
    expect(routed(r, { headers: { 'x-team': 'a' } })).toBeUndefined();
    expect(routed(r, { headers: { 'x-env': ['canary', 'b'] } })).toBe('absent'); // "canary,b" is not "canary"
  });

  it('matches gRPC service and method only for gRPC requests, and methods', () => {
    const r = new Router('l', routes([
      { name: 'say', match: { grpc: { service: 'helloworld.Greeter', method: 'SayHello' } }, cluster: 'c' },
      { name: 'svc', match: { grpc: { service: 'helloworld.Greeter' } }, cluster: 'c' },
      { name: 'post', match: { methods: ['post'] }, cluster: 'c' },
    ]), []);
    expect(routed(r, { grpc: true, method: 'POST', path: '/helloworld.Greeter/SayHello' })).toBe('say');
    expect(routed(r, { grpc: true, method: 'POST', path: '/helloworld.Greeter/Other' })).toBe('svc');
    expect(routed(r, { grpc: false, method: 'POST', path: '/helloworld.Greeter/SayHello' })).toBe('post');
    expect(routed(r, { method: 'GET' })).toBeUndefined();
    expect(grpcParts('/a.B/C')).toEqual(['a.B', 'C']);
    expect(grpcParts('/nomethod')).toBeUndefined();
  });

  it('names unnamed routes after the listener and position', () => {
    expect(new Router('edge', routes([{ cluster: 'c' }]), []).routes[0]!.name).toBe('edge/0');
  });

  it('rejects a bad regex with the field path', () => {
    let err: unknown;
    try {
      new Router('l', routes([{ cluster: 'c' }, { match: { headers: [{ name: 'a', regex: '(' }] }, cluster: 'c' }]), ['spec', 'listeners', 0]);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ProxyConfigError);
    expect((err as ProxyConfigError).path).toEqual(['spec', 'listeners', 0, 'routes', 1, 'match', 'headers', 0, 'regex']);
  });
});
