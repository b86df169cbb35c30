// The internal server and the remote invoker with mutual TLS, over real loopback sockets: calls
// between sidecars of one trust bundle go through with the caller's SPIFFE identity on the
// callee's request; anything else (another CA, no certificate, no TLS, the wrong app behind the
// address, a certificate without a SPIFFE ID) is refused with a message saying why.
import { connect as tlsConnect } from 'node:tls';
import { Readable } from 'node:stream';
import * as grpc from '@grpc/grpc-js';
import type { NameResolver } from '../../components/nameresolution/types';
import type { InvokeRequest, Invoker } from '../../core/invoke/types';
import { freePort } from '../../../compat-tests/helpers/sidecar';
import { callWithoutClientCert, describeWithOpenssl, type Issued, type Leaf, TestPki } from '../../../compat-tests/helpers/certs';
import { loadMtls, type Mtls } from '../../security/mtls';
import { ServiceInvocationClient } from './protos';
import { RemoteInvoker } from './remote';
import { InternalServer } from './server';
import { TransportError } from './wire';

const MB = 1024 * 1024;
/** grpc-js would send the IP as TLS server name (node warns); the certificates name localhost too. */
const NAME = { 'grpc.ssl_target_name_override': 'localhost' };
const text = async (r: Readable) => Buffer.concat(await r.toArray()).toString();
const maybe = describeWithOpenssl('the internal mTLS tests');

const fixed = (port: number): NameResolver => ({ init: async () => {}, resolve: async () => ({ host: '127.0.0.1', port }), close: async () => {} });

function request(): InvokeRequest {
  return { appId: 'callee', method: 'hello', verb: 'POST', query: '', headers: {}, contentType: 'text/plain', body: Readable.from([Buffer.from('hi')]), length: 2 };
}

maybe('sidecar-to-sidecar mTLS', () => {
  let pki: TestPki;
  let root: Issued;
  let issuer: Issued;
  const material = (w: Leaf, appId: string, namespace = '') => loadMtls({ trustAnchorsFile: root.certFile, certChainFile: w.chainFile, certKeyFile: w.keyFile, env: {} }, { appId, namespace });
  const servers: InternalServer[] = [];
  const remotes: RemoteInvoker[] = [];
  let calleeMtls: Mtls;
  let callerMtls: Mtls;

  beforeAll(() => {
    pki = new TestPki();
    ({ root, issuer } = pki.rootAndIssuer());
    calleeMtls = material(pki.workload(issuer, 'callee', { trustDomain: 'example.org' }), 'callee');
    callerMtls = material(pki.workload(issuer, 'caller', { namespace: 'prod' }), 'caller', 'prod');
  });
  afterEach(async () => {
    await Promise.all(remotes.splice(0).map((r) => r.close()));
    await Promise.all(servers.splice(0).map((s) => s.stop(0)));
  });

  const seen: InvokeRequest[] = [];
  const echo: Invoker = {
    invoke: async (req) => {
      seen.push(req);
      return { status: 200, headers: {}, contentType: 'text/plain', body: Readable.from([Buffer.from(`got ${await text(req.body)}`)]) };
    },
  };
  async function serve(mtls: Mtls | null = calleeMtls): Promise<InternalServer> {
    const s = new InternalServer({ appId: 'callee', host: '127.0.0.1', port: await freePort(), maxMessageBytes: 4 * MB, local: () => echo, ...(mtls ? { mtls } : {}) });
    await s.start();
    servers.push(s);
    return s;
  }
  async function call(port: number, mtls: Mtls | undefined, appId = 'callee', namespace = ''): Promise<string> {
    const r = new RemoteInvoker({ resolver: fixed(port), ownPort: 1, maxMessageBytes: 4 * MB, connectTimeoutMs: 2000, ...(mtls ? { mtls } : {}) });
    remotes.push(r);
    const res = await (await r.remote(appId, namespace)).invoke(request());
    return text(res.body);
  }
  const failure = (p: Promise<unknown>) => p.then(() => { throw new Error('the call went through'); }, (e: unknown) => e as TransportError);

  it('a caller from the same bundle gets through; the callee learns its SPIFFE identity', async () => {
    seen.length = 0;
    const s = await serve();
    expect(await call(s.port, callerMtls)).toBe('got hi');
    expect(await call(s.port, callerMtls)).toBe('got hi'); // the session is reused
    expect(seen.map((r) => r.callerIdentity)).toEqual([
      { trustDomain: 'public', namespace: 'prod', appId: 'caller' },
      { trustDomain: 'public', namespace: 'prod', appId: 'caller' },
    ]);
  });

  it('without mTLS no identity is set (the plain path is unchanged)', async () => {
    seen.length = 0;
    const s = await serve(null);
    expect(await call(s.port, undefined)).toBe('got hi');
    expect(seen[0]!.callerIdentity).toBeUndefined();
    expect('callerIdentity' in seen[0]!).toBe(false);
  });

  it('a caller presenting a certificate of another CA (it trusts ours) is refused by the callee', async () => {
    const s = await serve();
    const otherRoot = pki.ca('other-root-2');
    const w = pki.workload(otherRoot, 'caller');
    // loadMtls would refuse this chain; a misconfigured peer is built by hand.
    const stranger: Mtls = { trustAnchors: Buffer.from(root.cert), certChain: Buffer.from(w.cert), key: Buffer.from(w.key), identity: { trustDomain: 'public', namespace: 'default', appId: 'caller' } };
    const e = await failure(call(s.port, stranger));
    expect(e).toBeInstanceOf(TransportError);
    expect(e.code).toBe(grpc.status.UNAVAILABLE);
    // node's TLS server closes the connection of an unverified client without an alert.
    expect(e.message).toContain("the sidecar closed the mTLS connection before answering (does it trust this sidecar's certificate?)");
  });

  it('a callee whose certificate the caller does not trust is refused by the caller', async () => {
    const otherRoot = pki.ca('other-root-3');
    const w = pki.workload(otherRoot, 'callee');
    const s = await serve({ trustAnchors: Buffer.from(root.cert), certChain: Buffer.from(w.cert), key: Buffer.from(w.key), identity: { trustDomain: 'public', namespace: 'default', appId: 'callee' } });
    const e = await failure(call(s.port, callerMtls));
    expect(e.code).toBe(grpc.status.UNAVAILABLE);
    expect(e.message).toContain(`mTLS handshake with 127.0.0.1:${s.port} failed`);
  });

  it('the caller refuses a sidecar that is not the app it meant to reach', async () => {
    const s = await serve();
    const e = await failure(call(s.port, callerMtls, 'someone-else'));
    expect(e.code).toBe(grpc.status.UNAVAILABLE);
    expect(e.message).toContain('presented SPIFFE ID spiffe://example.org/ns/default/callee, expected spiffe://<any trust domain>/ns/default/someone-else');
    const wrongNs = await failure(call(s.port, callerMtls, 'callee', 'prod'));
    expect(wrongNs.message).toContain('expected spiffe://<any trust domain>/ns/prod/callee');
  });

  it('a plain caller cannot talk to an mTLS callee, nor an mTLS caller to a plain one', async () => {
    const secure = await serve();
    const plain = await serve(null);
    const e1 = await failure(call(secure.port, undefined));
    expect(e1.code).toBe(grpc.status.UNAVAILABLE);
    expect(e1.message).toContain('the connection to the sidecar closed before the call ended');
    const e2 = await failure(call(plain.port, callerMtls));
    expect(e2.code).toBe(grpc.status.UNAVAILABLE);
    expect(e2.message).toContain(`mTLS handshake with 127.0.0.1:${plain.port} failed: wrong version number (the other side does not speak TLS: is mTLS enabled there?)`);
  });

  it('a raw TLS client without a client certificate is refused', async () => {
    const s = await serve();
    const refused = await callWithoutClientCert(s.port, root.cert);
    expect(refused).toBe('ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED');
    // And a bare TLS handshake gets no further.
    const bare = await new Promise<string>((resolve) => {
      const sock = tlsConnect({ host: '127.0.0.1', port: s.port, servername: 'localhost', ca: root.cert, ALPNProtocols: ['h2'], checkServerIdentity: () => undefined });
      sock.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
      sock.on('secureConnect', () => sock.write('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'));
      sock.on('close', () => resolve('closed'));
    });
    expect(bare).toMatch(/ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED|ECONNRESET|closed/);
  });

  it('a trusted certificate without a SPIFFE ID is refused: UNAUTHENTICATED on streams and on unary CallLocal', async () => {
    const s = await serve();
    const plain = pki.issue(issuer, 'no-spiffe', { dns: ['localhost'], chainBelow: [issuer] });
    const noId: Mtls = { trustAnchors: Buffer.from(root.cert), certChain: Buffer.from(plain.chain), key: Buffer.from(plain.key), identity: { trustDomain: 'public', namespace: 'default', appId: 'x' } };
    const e = await failure(call(s.port, noId));
    expect(e.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(e.message).toContain('mTLS: the certificate has no SPIFFE ID');

    const creds = grpc.credentials.createSsl(Buffer.from(root.cert), Buffer.from(plain.key), Buffer.from(plain.chain), { checkServerIdentity: () => undefined });
    const client = new ServiceInvocationClient(`127.0.0.1:${s.port}`, creds, NAME);
    try {
      const err = await unary(client).catch((x: grpc.ServiceError) => x);
      expect((err as grpc.ServiceError).code).toBe(grpc.status.UNAUTHENTICATED);
    } finally {
      client.close();
    }
  });

  it('unary CallLocal (older callers) over mTLS carries the identity too', async () => {
    seen.length = 0;
    const s = await serve();
    const creds = grpc.credentials.createSsl(callerMtls.trustAnchors, callerMtls.key, callerMtls.certChain, { checkServerIdentity: () => undefined });
    const client = new ServiceInvocationClient(`127.0.0.1:${s.port}`, creds, NAME);
    try {
      const res = (await unary(client)) as { status: { code: number } };
      expect(res.status.code).toBe(200);
      expect(seen[0]!.callerIdentity).toEqual({ trustDomain: 'public', namespace: 'prod', appId: 'caller' });
    } finally {
      client.close();
    }
  });
});

function unary(client: grpc.Client): Promise<unknown> {
  return new Promise((resolve, reject) =>
    (client as unknown as { CallLocal: (r: unknown, cb: (e: Error | null, r: unknown) => void) => void }).CallLocal(
      { ver: 'V1', metadata: {}, message: { method: 'm1', data: { type_url: '', value: Buffer.from('ping') }, content_type: 'text/plain', http_extension: { verb: 'POST', querystring: '' } } },
      (e, r) => (e ? reject(e) : resolve(r)),
    ),
  );
}
