// TLS on the public APIs of the built sidecar (--api-tls-cert-file/--api-tls-key-file, and
// --api-tls-ca-file for client certificates): the Dapr HTTP API, the Dapr gRPC API and the Layotto
// gRPC API answer over TLS (raw clients, and the real @dapr/dapr SDK over https endpoints), plain
// connections to the TLS ports are refused without harming the sidecar (HTTP with Go's 400), a client without a
// certificate from the client CA is refused, and bad settings stop startup naming the file.
// Certificates are made per run with openssl; everything stays on loopback.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { Agent, fetch as undiciFetch } from 'undici';
import { loadLayottoDefinition } from '../../src/api/layotto-grpc/protos';
import { describeWithOpenssl, type Issued, type Leaf, TestPki } from '../helpers/certs';
import { componentYaml, type Sidecar, startSidecar } from '../helpers/sidecar';
import { daprClient, grpcUnary, waitHealthyTls } from './tls-clients';

const maybe = describeWithOpenssl('the API TLS tests');

const STORE = { 'store.yaml': componentYaml('store', 'state.in-memory') };
const NAME = { 'grpc.ssl_target_name_override': 'localhost' };

interface LayottoRuntime extends grpc.Client {
  SaveState(req: unknown, cb: (e: grpc.ServiceError | null, r: unknown) => void): void;
  GetState(req: unknown, cb: (e: grpc.ServiceError | null, r: { data: Buffer }) => void): void;
}
const Runtime = (grpc.loadPackageDefinition(loadLayottoDefinition()) as unknown as { spec: { proto: { runtime: { v1: { Runtime: grpc.ServiceClientConstructor } } } } }).spec.proto.runtime.v1.Runtime;

maybe('TLS on the public APIs', () => {
  let pki: TestPki;
  let ca: Issued;
  let server: Leaf;
  beforeAll(() => {
    pki = new TestPki();
    ca = pki.ca('api-ca');
    server = pki.issue(ca, 'sidecar', { dns: ['localhost'], ip: ['127.0.0.1'] });
  });
  const sidecars: Sidecar[] = [];
  const clients: grpc.Client[] = [];
  afterAll(async () => {
    for (const c of clients) c.close();
    await Promise.all(sidecars.map((s) => s.stop()));
  });
  const tlsArgs = (extra: string[] = []) => ['--api-tls-cert-file', server.certFile, '--api-tls-key-file', server.keyFile, ...extra];
  const agent = (o: { cert?: string; key?: string } = {}) => new Agent({ connect: { ca: ca.cert, ...o } });
  const grpcCreds = (o: { cert?: string; key?: string } = {}) => grpc.credentials.createSsl(Buffer.from(ca.cert), o.key ? Buffer.from(o.key) : null, o.cert ? Buffer.from(o.cert) : null);
  const layotto = (sc: Sidecar, creds: grpc.ChannelCredentials) => {
    const c = new Runtime(`127.0.0.1:${sc.layottoPort}`, creds, NAME) as unknown as LayottoRuntime;
    clients.push(c);
    return c;
  };

  describe('server certificate only', () => {
    let sc: Sidecar;
    beforeAll(async () => {
      sc = await startSidecar({ appId: 'tls-app', resources: STORE, args: tlsArgs(), wait: false });
      sidecars.push(sc);
      await waitHealthyTls(sc, ca.cert);
    });

    it('Dapr HTTP API over https: state saved and read back, healthz', async () => {
      const dispatcher = agent();
      const base = `https://127.0.0.1:${sc.httpPort}/v1.0`;
      const saved = await undiciFetch(`${base}/state/store`, { method: 'POST', dispatcher, headers: { 'content-type': 'application/json' }, body: JSON.stringify([{ key: 'k', value: { n: 1 } }]) });
      expect(saved.status).toBe(204);
      const got = await undiciFetch(`${base}/state/store/k`, { dispatcher });
      expect(await got.json()).toEqual({ n: 1 });
      expect((await undiciFetch(`${base}/healthz`, { dispatcher })).status).toBe(204);
      await dispatcher.close();
    });

    it('Dapr gRPC and Layotto gRPC APIs over TLS', async () => {
      const md = await grpcUnary<{ id: string }>(sc.grpcPort, grpcCreds(), 'GetMetadata', {});
      expect(md.id).toBe('tls-app');
      const rt = layotto(sc, grpcCreds());
      await new Promise<unknown>((res, rej) => rt.SaveState({ store_name: 'store', states: [{ key: 'lk', value: Buffer.from('layotto') }] }, (e, r) => (e ? rej(e) : res(r))));
      const got = await new Promise<{ data: Buffer }>((res, rej) => rt.GetState({ store_name: 'store', key: 'lk' }, (e, r) => (e ? rej(e) : res(r))));
      expect(Buffer.from(got.data).toString()).toBe('layotto');
    });

    it('the @dapr/dapr SDK talks to https endpoints (HTTP and gRPC) trusting the CA', async () => {
      const out = await daprClient(sc, ca.certFile, `
        const key = 'sdk-' + protocol;
        await client.state.save('store', [{ key, value: { via: protocol } }]);
        print(await client.state.get('store', key));
      `);
      expect(out).toEqual({ http: { via: 'http' }, grpc: { via: 'grpc' } });
    });

    it('plain connections to the TLS ports are refused; the sidecar keeps serving', async () => {
      // As daprd (Go's net/http): a 400 saying what happened, then the connection is closed.
      const plain = await fetch(`http://127.0.0.1:${sc.httpPort}/v1.0/healthz`);
      expect(plain.status).toBe(400);
      expect(await plain.text()).toBe('Client sent an HTTP request to an HTTPS server.\n');
      await expect(grpcUnary(sc.grpcPort, grpc.credentials.createInsecure(), 'GetMetadata', {})).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });
      const rt = layotto(sc, grpc.credentials.createInsecure());
      await expect(new Promise((res, rej) => rt.GetState({ store_name: 'store', key: 'lk' }, (e, r) => (e ? rej(e) : res(r))))).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });
      // A client that does not trust the CA fails its handshake too.
      await expect(undiciFetch(`https://127.0.0.1:${sc.httpPort}/v1.0/healthz`)).rejects.toThrow();
      const dispatcher = agent();
      expect((await undiciFetch(`https://127.0.0.1:${sc.httpPort}/v1.0/healthz`, { dispatcher })).status).toBe(204);
      await dispatcher.close();
      expect(sc.proc.exitCode).toBeNull();
    });
  });

  describe('client certificates (--api-tls-ca-file)', () => {
    let sc: Sidecar;
    let clientCa: Issued;
    let client: Leaf;
    let stranger: Leaf;
    beforeAll(async () => {
      clientCa = pki.ca('client-ca');
      client = pki.issue(clientCa, 'app');
      stranger = pki.issue(pki.ca('other-ca'), 'stranger');
      sc = await startSidecar({ appId: 'mtls-api', resources: STORE, args: tlsArgs(['--api-tls-ca-file', clientCa.certFile]), wait: false });
      sidecars.push(sc);
      await waitHealthyTls(sc, ca.cert, { cert: client.cert, key: client.key });
    });

    it('a client with a certificate from the client CA gets in, over HTTP and both gRPC APIs', async () => {
      const dispatcher = agent({ cert: client.cert, key: client.key });
      expect((await undiciFetch(`https://127.0.0.1:${sc.httpPort}/v1.0/metadata`, { dispatcher })).status).toBe(200);
      await dispatcher.close();
      expect((await grpcUnary<{ id: string }>(sc.grpcPort, grpcCreds(client), 'GetMetadata', {})).id).toBe('mtls-api');
      const rt = layotto(sc, grpcCreds(client));
      await new Promise((res, rej) => rt.GetState({ store_name: 'store', key: 'none' }, (e, r) => (e ? rej(e) : res(r))));
    });

    it('no client certificate, or one from another CA, is refused on every API', async () => {
      for (const who of [{}, { cert: stranger.cert, key: stranger.key }]) {
        const dispatcher = agent(who);
        await expect(undiciFetch(`https://127.0.0.1:${sc.httpPort}/v1.0/metadata`, { dispatcher })).rejects.toThrow();
        await dispatcher.close();
        await expect(grpcUnary(sc.grpcPort, grpcCreds(who), 'GetMetadata', {})).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });
        const rt = layotto(sc, grpcCreds(who));
        await expect(new Promise((res, rej) => rt.GetState({ store_name: 'store', key: 'x' }, (e, r) => (e ? rej(e) : res(r))))).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });
      }
      expect(sc.proc.exitCode).toBeNull();
    });
  });

  describe('bad settings stop startup, naming the flag or the file', () => {
    const failsWith = async (args: string[], env: Record<string, string> = {}) => {
      const sc = await startSidecar({ appId: 'bad-tls', args, env, wait: false });
      const code = await sc.exited;
      expect(code).toBe(1);
      return sc.output();
    };

    it.each([
      ['a missing certificate file', () => ['--api-tls-cert-file', '/nonexistent/tls.crt', '--api-tls-key-file', server.keyFile], '--api-tls-cert-file /nonexistent/tls.crt: cannot read the file: no such file'],
      ['a missing key file', () => ['--api-tls-cert-file', server.certFile, '--api-tls-key-file', '/nonexistent/tls.key'], '--api-tls-key-file /nonexistent/tls.key: cannot read the file: no such file'],
      ['a key that is not the certificate\'s', () => ['--api-tls-cert-file', server.certFile, '--api-tls-key-file', ca.keyFile], 'the private key does not belong to the certificate'],
      ['a certificate without its key', () => ['--api-tls-cert-file', server.certFile], '--api-tls-key-file is missing'],
      ['a client CA that is no certificate', () => [...tlsArgs(), '--api-tls-ca-file', server.keyFile], () => `--api-tls-ca-file ${server.keyFile}: no PEM certificate`],
      ['mTLS with a missing trust bundle', () => ['--enable-mtls', '--trust-anchors-file', '/nonexistent/ca.crt'], '--trust-anchors-file /nonexistent/ca.crt: cannot read the file: no such file'],
      ['mTLS with no certificates at all', () => ['--enable-mtls'], 'mTLS is enabled but no trust anchors was given'],
    ])('%s', async (_what, args, message) => {
      const out = await failsWith(args());
      expect(out).toContain(typeof message === 'function' ? message() : message);
      expect(out).not.toMatch(/\n\s+at /); // a message, not a stack trace
    });

    it('spec.mtls.enabled in the Configuration turns mTLS on too', async () => {
      const file = join(pki.dir, 'config.yaml');
      writeFileSync(file, 'apiVersion: dapr.io/v1alpha1\nkind: Configuration\nmetadata:\n  name: c\nspec:\n  mtls:\n    enabled: true\n');
      expect(await failsWith(['--config', file])).toContain('mTLS is enabled but no trust anchors was given');
    });
  });
});
