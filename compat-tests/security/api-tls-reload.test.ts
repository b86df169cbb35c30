// The API TLS files are re-read when they change on disk: after the certificate and key files are
// overwritten with ones from another CA, new connections on the Dapr HTTP, Dapr gRPC and Layotto
// gRPC ports are presented the new certificate. A bad new file is logged and the previous
// certificate keeps serving; a good one after it is taken again.
import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { until } from '../../test/wait';
import { describeWithOpenssl, type Leaf, TestPki } from '../helpers/certs';
import { type Sidecar, startSidecar } from '../helpers/sidecar';
import { waitHealthyTls } from './tls-clients';

const STARTUP_MS = 60_000;

/** The issuer CN of the certificate a new TLS connection to `port` is presented. */
function presentedIssuer(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tlsConnect({ host: '127.0.0.1', port, rejectUnauthorized: false, ALPNProtocols: ['h2', 'http/1.1'] }, () => {
      const issuer = s.getPeerCertificate().issuer?.CN;
      s.destroy();
      resolve(String(issuer));
    });
    s.on('error', reject);
  });
}

describeWithOpenssl('API TLS reload')('API TLS certificate reload', () => {
  let sc: Sidecar;
  let first: { ca: string; leaf: Leaf };
  let second: { ca: string; leaf: Leaf };
  const dir = mkdtempSync(join(tmpdir(), 'api-tls-reload-'));
  const certFile = join(dir, 'tls.crt');
  const keyFile = join(dir, 'tls.key');
  const ports = () => [sc.httpPort, sc.grpcPort, sc.layottoPort];
  const install = (leaf: Leaf) => {
    copyFileSync(leaf.keyFile, keyFile);
    copyFileSync(leaf.certFile, certFile);
  };
  const allPresent = async (cn: string) => (await Promise.all(ports().map(presentedIssuer))).every((i) => i === cn);

  beforeAll(async () => {
    const pki = new TestPki();
    const caA = pki.ca('reload-ca-a');
    const caB = pki.ca('reload-ca-b');
    first = { ca: caA.cert, leaf: pki.issue(caA, 'sidecar-a', { dns: ['localhost'], ip: ['127.0.0.1'] }) };
    second = { ca: caB.cert, leaf: pki.issue(caB, 'sidecar-b', { dns: ['localhost'], ip: ['127.0.0.1'] }) };
    install(first.leaf);
    sc = await startSidecar({ startupMs: STARTUP_MS, appId: 'tls-reload', args: ['--api-tls-cert-file', certFile, '--api-tls-key-file', keyFile], wait: false });
    await waitHealthyTls(sc, first.ca, {}, STARTUP_MS);
  }, 2 * STARTUP_MS);
  afterAll(async () => {
    await sc?.stop();
  });

  it('new connections on every API port get the certificate from another CA once the files change', async () => {
    expect(await Promise.all(ports().map(presentedIssuer))).toEqual(['reload-ca-a', 'reload-ca-a', 'reload-ca-a']);
    install(second.leaf);
    await until(() => allPresent('reload-ca-b'), () => 'every port presenting the CA B certificate', 20_000);
    await waitHealthyTls(sc, second.ca); // and it serves requests with it
    expect(sc.output()).toContain('API TLS certificate reloaded');
  });

  it('a bad new file is logged and the previous certificate keeps serving; a good one is taken after it', async () => {
    const failures = () => sc.output().split('API TLS files changed but do not load').length - 1;
    expect(failures()).toBe(0); // the rotation above was read once, as a pair
    writeFileSync(certFile, 'not a certificate\n');
    await until(() => failures() === 1, () => 'the load failure logged', 20_000);
    expect(await Promise.all(ports().map(presentedIssuer))).toEqual(['reload-ca-b', 'reload-ca-b', 'reload-ca-b']);
    install(first.leaf);
    await until(() => allPresent('reload-ca-a'), () => 'every port presenting the CA A certificate again', 20_000);
  });
});
