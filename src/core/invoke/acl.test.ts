import { AccessControl, type AccessControlSpec, type AppPolicySpec, callerFromHeaders, callerOf, matches, normalizeOperation } from './acl';

const seg = (p: string) => (p.startsWith('/') ? p.slice(1) : p).split('/');
const match = (pattern: string, path: string) => matches(seg(pattern), seg(path));

const policy = (p: Partial<AppPolicySpec>): AppPolicySpec => ({ appId: 'x', defaultAction: '', trustDomain: 'public', namespace: 'default', operations: [], ...p });
const caller = (appId: string, o: { namespace?: string; trustDomain?: string } = {}) => ({ appId, namespace: o.namespace ?? 'default', trustDomain: o.trustDomain ?? 'public' });
const acl = (spec: AccessControlSpec, http = true) => AccessControl.from(spec, http)!;

describe('operation patterns (daprd ACL trie)', () => {
  it('exact paths', () => {
    expect(match('/allowed/x', '/allowed/x')).toBe(true);
    expect(match('/allowed/x', '/allowed/y')).toBe(false);
    expect(match('/allowed', '/allowed/x')).toBe(false);
    expect(match('/allowed/x', '/allowed')).toBe(false);
  });

  it("a trailing '*' takes one segment (or none), not two", () => {
    expect(match('/allowed/*', '/allowed/x')).toBe(true);
    expect(match('/allowed/*', '/allowed')).toBe(true);
    expect(match('/allowed/*', '/allowed/x/y')).toBe(false);
    expect(match('/allowed/*', '/other/x')).toBe(false);
  });

  it("a trailing '**' takes any depth", () => {
    expect(match('/api/**', '/api/v1/state/key')).toBe(true);
    expect(match('/api/**', '/api/x')).toBe(true);
    expect(match('/api/**', '/api')).toBe(true);
    expect(match('/api/**', '/apis/x')).toBe(false);
  });

  it("'*' inside a segment, and a '*' segment in the middle, match within that segment", () => {
    expect(match('/v*/state', '/v1/state')).toBe(true);
    expect(match('/v*/state', '/x1/state')).toBe(false);
    expect(match('/*/state', '/v2/state')).toBe(true);
    expect(match('/*/state', '/v2/x/state')).toBe(false);
    expect(match('/a/pre*suf', '/a/pre-mid-suf')).toBe(true);
    expect(match('/a/pre*suf', '/a/presu')).toBe(false);
  });

  it('gRPC full method names', () => {
    expect(match('/pkg.Greeter/*', '/pkg.Greeter/SayHello')).toBe(true);
    expect(match('/pkg.Greeter/SayHello', '/pkg.Greeter/SayBye')).toBe(false);
  });
});

describe('operation normalization (purell, usually-safe-greedy)', () => {
  it('folds slashes, resolves dot segments, drops a trailing slash, decodes unreserved escapes only', () => {
    expect(normalizeOperation('allowed//x/')).toBe('allowed/x');
    expect(normalizeOperation('a/./b/../c')).toBe('a/c');
    expect(normalizeOperation('/pkg.S/M')).toBe('/pkg.S/M');
    expect(normalizeOperation('a%2Db%2fc%41')).toBe('a-b%2FcA');
  });
});

describe('access control decisions (daprd IsOperationAllowedByAccessControlPolicy)', () => {
  const spec: AccessControlSpec = {
    defaultAction: 'deny',
    trustDomain: 'public',
    policies: [policy({ appId: 'x', operations: [{ name: '/allowed/*', httpVerb: ['POST'], action: 'allow' }, { name: '/any/**', httpVerb: ['*'], action: 'allow' }] })],
  };

  it('no spec, or an empty one: no list (everything allowed)', () => {
    expect(AccessControl.from(undefined, true)).toBeUndefined();
    expect(AccessControl.from({ defaultAction: '', trustDomain: '' }, true)).toBeUndefined();
    expect(AccessControl.from({ defaultAction: '', trustDomain: '', policies: [] }, true)).toBeUndefined();
  });

  it('defaultAction unset: deny when policies are written (or the key is absent), allow for an explicit empty list', () => {
    expect(acl({ defaultAction: '', trustDomain: 'td', policies: [] }).check({ operation: 'a', verb: 'GET' }).allowed).toBe(true);
    expect(acl({ defaultAction: '', trustDomain: 'td' }).check({ operation: 'a', verb: 'GET' }).allowed).toBe(false);
    expect(acl({ defaultAction: '', trustDomain: '', policies: [policy({})] }).check({ operation: 'a', verb: 'GET' }).allowed).toBe(false);
  });

  it('the matching operation and verb allow; another caller, path or verb falls back to the default', () => {
    const a = acl(spec);
    expect(a.check({ caller: caller('x'), operation: 'allowed/one', verb: 'POST' })).toEqual({ allowed: true, policy: 'global' });
    expect(a.check({ caller: caller('y'), operation: 'allowed/one', verb: 'POST' })).toEqual({
      allowed: false,
      policy: 'global',
      message: 'access control policy has denied access to id: spiffe://public/ns/default/y operation: allowed/one verb: POST',
    });
    expect(a.check({ caller: caller('x'), operation: 'allowed/one', verb: 'GET' }).allowed).toBe(false);
    expect(a.check({ caller: caller('x'), operation: 'other', verb: 'POST' }).allowed).toBe(false);
    expect(a.check({ caller: caller('x'), operation: 'any/deep/path', verb: 'PATCH' }).allowed).toBe(true);
    expect(a.check({ operation: 'allowed/one', verb: 'POST' }).message).toBe('access control policy has denied access to id: <nil> operation: allowed/one verb: POST');
  });

  it('HTTP apps match paths case-insensitively; gRPC apps exactly and without verbs', () => {
    expect(acl(spec).check({ caller: caller('x'), operation: 'ALLOWED/One', verb: 'post' }).allowed).toBe(true);
    const g = acl({ ...spec, policies: [policy({ operations: [{ name: '/pkg.Svc/Do', httpVerb: [], action: 'allow' }] })] }, false);
    expect(g.check({ caller: caller('x'), operation: '/pkg.Svc/Do', verb: 'NONE' })).toEqual({ allowed: true, policy: 'global' });
    expect(g.check({ caller: caller('x'), operation: '/pkg.svc/do', verb: 'NONE' }).allowed).toBe(false);
    expect(g.check({ caller: caller('y'), operation: '/pkg.Svc/Do', verb: 'GET' }).message).toBe('access control policy has denied access to id: spiffe://public/ns/default/y operation: /pkg.Svc/Do verb: NONE');
  });

  it("the app's own defaultAction replaces the global one; a call without a verb to an HTTP app takes it", () => {
    const a = acl({ defaultAction: 'deny', trustDomain: 'public', policies: [policy({ defaultAction: 'allow', operations: [{ name: '/secret', httpVerb: ['*'], action: 'deny' }] })] });
    expect(a.check({ caller: caller('x'), operation: 'anything', verb: 'GET' })).toEqual({ allowed: true, policy: 'app' });
    expect(a.check({ caller: caller('x'), operation: 'secret', verb: 'GET' })).toMatchObject({ allowed: false, policy: 'app' });
    expect(a.check({ caller: caller('x'), operation: 'secret', verb: 'NONE' }).allowed).toBe(true);
    expect(acl(spec).check({ caller: caller('x'), operation: 'allowed/one', verb: 'NONE' }).allowed).toBe(false);
  });

  it('policies are per app id and namespace, and need the trust domain to match', () => {
    const a = acl({ defaultAction: 'deny', trustDomain: 'public', policies: [policy({ appId: 'x', namespace: 'prod', defaultAction: 'allow' })] });
    expect(a.check({ caller: caller('x', { namespace: 'prod' }), operation: 'm', verb: 'GET' }).allowed).toBe(true);
    expect(a.check({ caller: caller('x'), operation: 'm', verb: 'GET' }).allowed).toBe(false);
    expect(a.check({ caller: caller('x', { namespace: 'prod', trustDomain: 'other' }), operation: 'm', verb: 'GET' }).allowed).toBe(false);
  });

  it('actions compare case-insensitively; anything but allow denies', () => {
    expect(acl({ defaultAction: 'ALLOW', trustDomain: '' }).check({ operation: 'm', verb: 'GET' }).allowed).toBe(true);
    expect(acl({ defaultAction: 'Deny', trustDomain: '' }).check({ operation: 'm', verb: 'GET' }).allowed).toBe(false);
  });

  it('the first operation that matches decides', () => {
    const a = acl({ defaultAction: 'deny', trustDomain: '', policies: [policy({ operations: [{ name: '/a/*', httpVerb: ['*'], action: 'deny' }, { name: '/a/b', httpVerb: ['*'], action: 'allow' }] })] });
    expect(a.check({ caller: caller('x'), operation: 'a/b', verb: 'GET' }).allowed).toBe(false);
    expect(a.trustDomain).toBe('public');
  });
});

describe('the caller named by the calling sidecar', () => {
  it("takes the last dapr-caller-app-id and -namespace (the sidecar's own stamp), default namespace, this trust domain", () => {
    expect(callerFromHeaders({ 'dapr-caller-app-id': ['spoof', 'x'], 'dapr-caller-namespace': ['prod'] }, 'td')).toEqual({ appId: 'x', namespace: 'prod', trustDomain: 'td' });
    expect(callerFromHeaders({ 'dapr-caller-app-id': ['x'] }, 'public')).toEqual({ appId: 'x', namespace: 'default', trustDomain: 'public' });
    expect(callerFromHeaders({}, 'public')).toBeUndefined();
  });

  it('a verified identity (mTLS) wins over the headers', () => {
    const verified = { appId: 'v', namespace: 'ns', trustDomain: 'td' };
    expect(callerOf({ headers: { 'dapr-caller-app-id': ['spoof'] }, callerIdentity: verified }, 'public')).toBe(verified);
    expect(callerOf({ headers: { 'dapr-caller-app-id': ['x'] } }, 'public')?.appId).toBe('x');
  });
});
