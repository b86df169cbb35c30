// The mTLS files (--trust-anchors-file, --cert-chain-file, --cert-key-file) are re-read when they
// change on disk: after they are overwritten with a bundle and workload certificate from another
// root CA, new connections to the internal port are presented the new certificate. A bad new set
// is logged and the previous certificate keeps serving.
import { X509Certificate } from 'node:crypto';
import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { until } from '../../test/wait';
import { describeWithOpenssl, type Issued, type Leaf, TestPki } from '../helpers/certs';
import { freePort, type Sidecar, startSidecar } from '../helpers/sidecar';

const STARTUP_MS = 60_000;
const APP = 'mtls-reload';

/** The SHA-256 fingerprint of the certificate a new TLS connection to `port` is presented. */
function presented(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tlsConnect({ host: '127.0.0.1', port, rejectUnauthorized: false, ALPNProtocols: ['h2'] }, () => {
      const fp = s.getPeerCertificate().fingerprint256;
      s.destroy();
      resolve(fp);
    });
    s.on('error', reject);
  });
}

const fingerprint = (leaf: Leaf) => new X509Certificate(leaf.cert).fingerprint256;

describeWithOpenssl('mTLS reload')('mTLS certificate reload', () => {
  let sc: Sidecar;
  let internal: number;
  const sets: { root: Issued; leaf: Leaf }[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'mtls-reload-'));
  const files = { anchors: join(dir, 'ca.crt'), chain: join(dir, 'issuer.crt'), key: join(dir, 'issuer.key') };
  const install = (set: { root: Issued; leaf: Leaf }) => {
    copyFileSync(set.root.certFile, files.anchors);
    copyFileSync(set.leaf.keyFile, files.key);
    copyFileSync(set.leaf.chainFile, files.chain);
  };

  beforeAll(async () => {
    const pki = new TestPki();
    for (let i = 0; i < 2; i++) {
      const { root, issuer } = pki.rootAndIssuer();
      sets.push({ root, leaf: pki.workload(issuer, APP) });
    }
    install(sets[0]!);
    internal = await freePort();
    sc = await startSidecar({ startupMs: STARTUP_MS, appId: APP, layotto: false, args: ['--enable-mtls', '--trust-anchors-file', files.anchors, '--cert-chain-file', files.chain, '--cert-key-file', files.key, '--dapr-internal-grpc-port', String(internal)] });
  }, 2 * STARTUP_MS);
  afterAll(async () => {
    await sc?.stop();
  });

  it('new connections to the internal port get the workload certificate from another root once the files change', async () => {
    expect(await presented(internal)).toBe(fingerprint(sets[0]!.leaf));
    install(sets[1]!);
    await until(async () => (await presented(internal)) === fingerprint(sets[1]!.leaf), () => 'the second workload certificate presented', 20_000);
    expect(sc.output()).toContain('mTLS certificate and trust bundle reloaded');
    expect(sc.output()).not.toContain('mTLS files changed but do not load'); // the three files were read once, as a set
  });

  it('a chain that does not lead to the bundle is logged and the previous certificate keeps serving', async () => {
    copyFileSync(sets[0]!.leaf.chainFile, files.chain);
    copyFileSync(sets[0]!.leaf.keyFile, files.key); // root 1's workload against root 2's bundle
    await until(() => sc.output().includes('mTLS files changed but do not load'), () => 'the load failure logged', 20_000);
    expect(await presented(internal)).toBe(fingerprint(sets[1]!.leaf));
    writeFileSync(files.key, 'not a key\n');
    install(sets[0]!);
    await until(async () => (await presented(internal)) === fingerprint(sets[0]!.leaf), () => 'the first certificate presented again', 20_000);
  });
});
