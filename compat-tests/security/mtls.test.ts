// Mutual TLS between built sidecars with a trust bundle from files (no CA service): sidecars of one
// bundle invoke each other (the real @dapr/dapr DaprClient over HTTP and gRPC, and gRPC proxying),
// and the callee knows the caller by its certificate's SPIFFE ID; a sidecar with a certificate of
// another CA, one without mTLS and a raw TLS client without a certificate are all refused, with
// daprd's ERR_DIRECT_INVOKE and a reason. Certificates are made per run with openssl (root →
// issuer → workload, as Sentry issues them); everything stays on loopback.
import { createServer, type Server } from 'node:http';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CommunicationProtocolEnum, DaprClient, HttpMethod, LogLevel } from '@dapr/dapr';
import { echoClient, type EchoApp, startEchoApp, to, unary } from '../../test/grpc-echo';
import { callWithoutClientCert, describeWithOpenssl, type Issued, type Leaf, TestPki } from '../helpers/certs';
import { freePort, type Sidecar, startSidecar } from '../helpers/sidecar';

const maybe = describeWithOpenssl('the sidecar mTLS tests');

interface Answer {
  app: string;
  method: string;
  url: string;
  caller?: string;
}

/** An HTTP app that says who it is, what was called and who called (dapr-caller-app-id). */
async function httpApp(name: string): Promise<Server & { port: number }> {
  const server = createServer((req, res) => {
    if (req.url === '/dapr/subscribe' || req.url === '/dapr/config') return void res.writeHead(404).end();
    req.resume().on('end', () => {
      const body: Answer = { app: name, method: req.method!, url: req.url!, caller: req.headers['dapr-caller-app-id'] as string | undefined };
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return Object.assign(server, { port: (server.address() as { port: number }).port });
}

interface ErrorBody {
  errorCode: string;
  message: string;
}

maybe('mTLS between sidecars', () => {
  let pki: TestPki;
  let root: Issued;
  let issuer: Issued;
  const sidecars: Sidecar[] = [];
  const apps: { close(cb?: () => void): unknown }[] = [];
  let echo: EchoApp;
  let a: Sidecar;
  let b: Sidecar;
  let bInternal: number;
  let g: Sidecar;

  /** Files for --enable-mtls: the bundle, the chain (leaf + issuer) and the key. */
  const mtlsArgs = (w: Leaf, anchors = root) => ['--enable-mtls', '--trust-anchors-file', anchors.certFile, '--cert-chain-file', w.chainFile, '--cert-key-file', w.keyFile];
  async function withHttpApp(appId: string, args: string[], env: Record<string, string> = {}): Promise<Sidecar> {
    const app = await httpApp(appId);
    apps.push(app);
    const sc = await startSidecar({ appId, layotto: false, env, args: ['--app-port', String(app.port), ...args] });
    sidecars.push(sc);
    return sc;
  }
  const invoke = (from: Sidecar, path: string) => fetch(`http://127.0.0.1:${from.httpPort}/v1.0/invoke/${path}`, { method: 'POST', body: 'x' });

  beforeAll(async () => {
    pki = new TestPki();
    ({ root, issuer } = pki.rootAndIssuer());
    // B only lets in callers named by its policies, by their verified SPIFFE ID under mTLS.
    const config = join(pki.dir, 'b-config.yaml');
    writeFileSync(
      config,
      `apiVersion: dapr.io/v1alpha1
kind: Configuration
metadata:
  name: b
spec:
  accessControl:
    defaultAction: deny
    trustDomain: public
    policies:
      - appId: mtls-a
        defaultAction: allow
        trustDomain: public
        namespace: default
      - appId: mtls-e
        defaultAction: allow
        trustDomain: public
        namespace: default
`,
    );
    bInternal = await freePort();
    // A: files and --enable-mtls. B: daprd's env vars (PEM contents) and spec.mtls.enabled... and
    // its own trust domain, which callers accept (they check /ns/<ns>/<app> only, as daprd).
    a = await withHttpApp('mtls-a', mtlsArgs(pki.workload(issuer, 'mtls-a')));
    const bCert = pki.workload(issuer, 'mtls-b', { trustDomain: 'example.org' });
    const bConfigMtls = join(pki.dir, 'b-mtls.yaml');
    writeFileSync(bConfigMtls, 'apiVersion: dapr.io/v1alpha1\nkind: Configuration\nmetadata:\n  name: b-mtls\nspec:\n  mtls:\n    enabled: true\n');
    b = await withHttpApp('mtls-b', ['--config', bConfigMtls, '--config', config, '--dapr-internal-grpc-port', String(bInternal)], { DAPR_TRUST_ANCHORS: root.cert, DAPR_CERT_CHAIN: bCert.chain, DAPR_CERT_KEY: bCert.key });
    echo = await startEchoApp('mtls-g');
    g = await startSidecar({ appId: 'mtls-g', layotto: false, args: ['--app-port', String(echo.port), '--app-protocol', 'grpc', ...mtlsArgs(pki.workload(issuer, 'mtls-g'))] });
    sidecars.push(g);
  }, 120_000); // four sidecars, one after the other
  afterAll(async () => {
    await Promise.all(sidecars.map((s) => s.stop()));
    await Promise.all(apps.map((s) => new Promise<void>((r) => s.close(() => r()))));
    await echo?.close();
  });

  it('sidecars of one bundle invoke each other: DaprClient over HTTP and gRPC, both ways', async () => {
    for (const protocol of [CommunicationProtocolEnum.HTTP, CommunicationProtocolEnum.GRPC]) {
      const client = new DaprClient({ daprHost: '127.0.0.1', daprPort: String(protocol === CommunicationProtocolEnum.HTTP ? a.httpPort : a.grpcPort), communicationProtocol: protocol, logger: { level: LogLevel.Error } });
      try {
        const got = (await client.invoker.invoke('mtls-b', 'orders/1', HttpMethod.POST, { n: 1 })) as Answer;
        expect(got).toMatchObject({ app: 'mtls-b', method: 'POST', url: '/orders/1', caller: 'mtls-a' });
      } finally {
        await client.stop();
      }
    }
    const back = await invoke(b, 'mtls-a/method/back');
    expect(back.status).toBe(200);
    expect(await back.json()).toMatchObject({ app: 'mtls-a', url: '/back', caller: 'mtls-b' });
    expect(b.output()).toMatch(/Internal gRPC server is running on .*\(mTLS\)/);
  });

  it('gRPC proxying (dapr-app-id) to another app goes over mTLS too', async () => {
    const client = echoClient(a.grpcPort);
    try {
      const r = await unary(client, { text: 'through mtls' }, to('mtls-g'));
      expect(r.err).toBeNull();
      expect(r.res?.text).toContain('through mtls');
    } finally {
      client.close();
    }
  });

  it("the callee knows the caller by its certificate: a same-CA caller in another trust domain is not the policy's mtls-e", async () => {
    // mtls-e's certificate says spiffe://evil/ns/default/mtls-e; the policy names trust domain public.
    // The caller's headers would say dapr-caller-app-id: mtls-e; the verified identity decides.
    const e = await withHttpApp('mtls-e', mtlsArgs(pki.workload(issuer, 'mtls-e', { trustDomain: 'evil' })));
    const denied = await invoke(e, 'mtls-b/method/x');
    expect(denied.status).toBe(403);
    const body = (await denied.json()) as ErrorBody;
    expect(body.errorCode).toBe('ERR_DIRECT_INVOKE');
    expect(body.message).toMatch(/access control policy has denied access to id: spiffe:\/\/evil\/ns\/default\/mtls-e/i);
    // mtls-a (trust domain public) is the policy's: allowed.
    expect((await invoke(a, 'mtls-b/method/x')).status).toBe(200);
  });

  it('a sidecar whose certificate comes from another CA is refused both ways', async () => {
    const otherRoot = pki.ca('other-root');
    const otherIssuer = pki.issue(otherRoot, 'other-issuer', { ca: true });
    // C trusts both CAs (so it accepts B), but B's bundle does not hold C's CA.
    const bundle = join(pki.dir, 'both-roots.pem');
    writeFileSync(bundle, otherRoot.cert + root.cert);
    const c = await withHttpApp('mtls-c', mtlsArgs(pki.workload(otherIssuer, 'mtls-c'), { ...otherRoot, certFile: bundle }));
    const out = await invoke(c, 'mtls-b/method/x');
    expect(out.status).toBe(500);
    const body = (await out.json()) as ErrorBody;
    expect(body.errorCode).toBe('ERR_DIRECT_INVOKE');
    expect(body.message).toContain("the sidecar closed the mTLS connection before answering (does it trust this sidecar's certificate?)");
    const into = await invoke(a, 'mtls-c/method/x');
    expect(into.status).toBe(500);
    expect(((await into.json()) as ErrorBody).message).toMatch(/mTLS handshake with 127\.0\.0\.1:\d+ failed: unable to get local issuer certificate/);
  });

  it('a sidecar without mTLS cannot call an mTLS one, nor be called by one', async () => {
    const plain = await withHttpApp('plain-d', []);
    const out = await invoke(plain, 'mtls-b/method/x');
    expect(out.status).toBe(500);
    expect(((await out.json()) as ErrorBody).errorCode).toBe('ERR_DIRECT_INVOKE');
    const into = await invoke(a, 'plain-d/method/x');
    expect(into.status).toBe(500);
    expect(((await into.json()) as ErrorBody).message).toContain('the other side does not speak TLS: is mTLS enabled there?');
  });

  it('a raw TLS client without a client certificate is refused by the internal port', async () => {
    const refused = await callWithoutClientCert(bInternal, root.cert);
    expect(refused).toBe('ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED');
    expect(b.proc.exitCode).toBeNull();
    expect((await invoke(a, 'mtls-b/method/still')).status).toBe(200);
  });
});
