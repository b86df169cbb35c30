import { parseEtcdMetadata } from './etcd';

describe('parseEtcdMetadata (Layotto names)', () => {
  it('defaults: dialTimeout 5 s, keyPrefixPath /layotto/, no auth, no TLS', () => {
    expect(parseEtcdMetadata({ endpoints: 'localhost:2379' })).toEqual({
      endpoints: ['localhost:2379'],
      dialTimeout: 5000,
      keyPrefix: '/layotto/',
      username: undefined,
      password: undefined,
      tls: undefined,
    });
  });

  it("splits endpoints on ';' (Layotto) and ','; dialTimeout in seconds or as a duration", () => {
    const m = parseEtcdMetadata({ endpoints: 'a:2379; b:2379,https://c:2379', dialTimeout: '2' });
    expect([m.endpoints, m.dialTimeout]).toEqual([['a:2379', 'b:2379', 'https://c:2379'], 2000]);
    expect(parseEtcdMetadata({ endpoints: 'a', DialTimeout: '300ms' }).dialTimeout).toBe(300);
  });

  it.each([
    ['lock', '/lock/'],
    ['/lock', '/lock/'],
    ['lock/', '/lock/'],
    ['/a/b/', '/a/b/'],
    ['/', '/'],
  ])('keyPrefixPath %s is stored as %s', (value, want) => {
    expect(parseEtcdMetadata({ endpoints: 'a', keyPrefixPath: value }).keyPrefix).toBe(want);
  });

  it.each([
    [{}, 'metadata field "endpoints": missing endpoints address'],
    [{ endpoints: ' ; ' }, 'metadata field "endpoints": missing endpoints address'],
    [{ endpoints: 'a', dialTimeout: 'soon' }, 'metadata field "dialTimeout": invalid duration "soon"'],
    [{ endpoints: 'a', password: 'p' }, 'metadata field "username": required with a password'],
    [{ endpoints: 'a', tlsCert: 'c.pem', tlsCertKey: 'k.pem' }, 'metadata field "tlsCa": required when TLS is configured'],
    [{ endpoints: 'a', tlsCa: 'ca.pem', tlsCert: 'c.pem' }, 'metadata fields "tlsCert" and "tlsCertKey" go together'],
  ])('refuses %j', (props, message) => {
    expect(() => parseEtcdMetadata(props as Record<string, string>)).toThrow(message);
  });

  it('TLS: a CA alone (server TLS) or with a client cert and key', () => {
    expect(parseEtcdMetadata({ endpoints: 'a', tlsCa: 'ca.pem' }).tls).toEqual({ ca: 'ca.pem', cert: undefined, key: undefined });
    expect(parseEtcdMetadata({ endpoints: 'a', tlsCa: 'ca.pem', tlsCert: 'c.pem', tlsCertKey: 'k.pem' }).tls).toEqual({ ca: 'ca.pem', cert: 'c.pem', key: 'k.pem' });
  });
});
