// Loading the TLS material: what a good setup yields, and that each mistake stops startup with a
// message naming the flag, variable or file. Certificates are made with openssl per run.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describeWithOpenssl, type Issued, TestPki } from '../../compat-tests/helpers/certs';
import { loadMtls, mtlsClientOptions, replaceMtls } from './mtls';
import { loadApiTls } from './tls';
import { loadTransportSecurity } from './transport';

const maybe = describeWithOpenssl('the TLS loading tests');

maybe('transport security loading', () => {
  let pki: TestPki;
  let root: Issued;
  let issuer: Issued;
  beforeAll(() => {
    pki = new TestPki();
    ({ root, issuer } = pki.rootAndIssuer());
  });
  const flags = (mtls: object = {}, apiTls: object = {}) => ({ appId: 'a', mtls, apiTls });

  describe('API TLS', () => {
    it('nothing given: no TLS; cert + key: TLS; with a CA: client certificates', () => {
      expect(loadApiTls({})).toBeUndefined();
      const leaf = pki.issue(root, 'api', { dns: ['localhost'] });
      const tls = loadApiTls({ certFile: leaf.certFile, keyFile: leaf.keyFile })!;
      expect(tls.cert.toString()).toBe(leaf.cert);
      expect(tls.ca).toBeUndefined();
      expect(loadApiTls({ certFile: leaf.certFile, keyFile: leaf.keyFile, caFile: root.certFile })!.ca!.toString()).toBe(root.cert);
    });

    it('names the missing flag or the bad file', () => {
      const leaf = pki.issue(root, 'api2', { dns: ['localhost'] });
      const other = pki.issue(root, 'other', { dns: ['localhost'] });
      expect(() => loadApiTls({ certFile: leaf.certFile })).toThrow('--api-tls-key-file is missing');
      expect(() => loadApiTls({ keyFile: leaf.keyFile })).toThrow('--api-tls-cert-file is missing');
      expect(() => loadApiTls({ caFile: root.certFile })).toThrow('--api-tls-ca-file needs --api-tls-cert-file and --api-tls-key-file');
      expect(() => loadApiTls({ certFile: '/nonexistent/cert.pem', keyFile: leaf.keyFile })).toThrow('--api-tls-cert-file /nonexistent/cert.pem: cannot read the file: no such file');
      expect(() => loadApiTls({ certFile: leaf.keyFile, keyFile: leaf.keyFile })).toThrow(`--api-tls-cert-file ${leaf.keyFile}: no PEM certificate`);
      expect(() => loadApiTls({ certFile: leaf.certFile, keyFile: leaf.certFile })).toThrow(`--api-tls-key-file ${leaf.certFile}: not a PEM private key`);
      expect(() => loadApiTls({ certFile: leaf.certFile, keyFile: other.keyFile })).toThrow(`--api-tls-key-file ${other.keyFile}: the private key does not belong to the certificate in --api-tls-cert-file ${leaf.certFile}`);
      expect(() => loadApiTls({ certFile: leaf.certFile, keyFile: leaf.keyFile, caFile: pki.dir })).toThrow(`--api-tls-ca-file ${pki.dir}: cannot read the file: is a directory`);
      const broken = join(pki.dir, 'broken.pem');
      writeFileSync(broken, '-----BEGIN CERTIFICATE-----\nnotbase64\n-----END CERTIFICATE-----\n');
      expect(() => loadApiTls({ certFile: broken, keyFile: leaf.keyFile })).toThrow(`--api-tls-cert-file ${broken}: certificate 1 is not valid`);
    });
  });

  describe('mTLS material', () => {
    it('replaceMtls: options for new connections to other sidecars carry the new set', () => {
      const load = (w: { chainFile: string; keyFile: string }, r: Issued) => loadMtls({ trustAnchorsFile: r.certFile, certChainFile: w.chainFile, certKeyFile: w.keyFile, env: {} }, { appId: 'a', namespace: '' });
      const m = load(pki.workload(issuer, 'a'), root);
      const other = pki.rootAndIssuer();
      const w2 = pki.workload(other.issuer, 'a');
      replaceMtls(m, load(w2, other.root));
      const o = mtlsClientOptions(m, { appId: 'b', namespace: '' });
      expect([String(o.cert), String(o.ca)]).toEqual([w2.chain, other.root.cert]);
    });

    it('loads bundle, chain and key from files, and reads the identity from the certificate', () => {
      const w = pki.workload(issuer, 'a', { trustDomain: 'example.org', namespace: 'prod' });
      const m = loadMtls({ trustAnchorsFile: root.certFile, certChainFile: w.chainFile, certKeyFile: w.keyFile, env: {} }, { appId: 'a', namespace: 'prod' });
      expect(m.identity).toEqual({ trustDomain: 'example.org', namespace: 'prod', appId: 'a' });
      expect(m.trustAnchors.toString()).toBe(root.cert);
      expect(m.certChain.toString()).toBe(w.chain);
    });

    it("takes daprd's env vars: PEM contents, or the trust anchors from DAPR_TRUST_ANCHORS_FILE", () => {
      const w = pki.workload(issuer, 'a');
      const env = { DAPR_TRUST_ANCHORS: root.cert, DAPR_CERT_CHAIN: w.chain, DAPR_CERT_KEY: w.key };
      expect(loadMtls({ env }, { appId: 'a', namespace: '' }).identity).toEqual({ trustDomain: 'public', namespace: 'default', appId: 'a' });
      expect(loadMtls({ env: { ...env, DAPR_TRUST_ANCHORS: undefined, DAPR_TRUST_ANCHORS_FILE: root.certFile } }, { appId: 'a', namespace: '' }).trustAnchors.toString()).toBe(root.cert);
      expect(() => loadMtls({ env: { ...env, DAPR_TRUST_ANCHORS_FILE: root.certFile } }, { appId: 'a', namespace: '' })).toThrow('set either DAPR_TRUST_ANCHORS_FILE or DAPR_TRUST_ANCHORS, not both');
      // A flag wins over the env (here another CA's bundle, which the chain does not lead to).
      const other = pki.ca('other-root');
      expect(() => loadMtls({ trustAnchorsFile: other.certFile, env: { ...env, DAPR_TRUST_ANCHORS: undefined, DAPR_TRUST_ANCHORS_FILE: root.certFile } }, { appId: 'a', namespace: '' })).toThrow(`DAPR_CERT_CHAIN: the certificate chain does not lead to a trust anchor in --trust-anchors-file ${other.certFile} (last issuer: "CN=root")`);
    });

    it('refuses what would fail every handshake, naming the source', () => {
      const w = pki.workload(issuer, 'a');
      const self = { appId: 'a', namespace: '' };
      const files = { trustAnchorsFile: root.certFile, certChainFile: w.chainFile, certKeyFile: w.keyFile, env: {} };
      expect(() => loadMtls({ env: {} }, self)).toThrow('mTLS is enabled but no trust anchors was given: set --trust-anchors-file, DAPR_TRUST_ANCHORS_FILE, DAPR_TRUST_ANCHORS (PEM)');
      expect(() => loadMtls({ trustAnchorsFile: root.certFile, env: {} }, self)).toThrow('no certificate chain was given: set --cert-chain-file, DAPR_CERT_CHAIN (PEM)');
      expect(() => loadMtls({ ...files, certKeyFile: undefined }, self)).toThrow('no certificate key was given');
      expect(() => loadMtls({ ...files, trustAnchorsFile: '/nope.pem' }, self)).toThrow('--trust-anchors-file /nope.pem: cannot read the file: no such file');
      // Another CA's bundle: the chain leads nowhere.
      const other = pki.ca('stranger');
      expect(() => loadMtls({ ...files, trustAnchorsFile: other.certFile }, self)).toThrow(`--cert-chain-file ${w.chainFile}: the certificate chain does not lead to a trust anchor in --trust-anchors-file ${other.certFile}`);
      // The leaf alone (issuer missing) does not reach the root either.
      expect(() => loadMtls({ ...files, certChainFile: w.certFile }, self)).toThrow('does not lead to a trust anchor');
      // Chain out of order.
      const reversed = join(pki.dir, 'reversed.pem');
      writeFileSync(reversed, issuer.cert + w.cert);
      expect(() => loadMtls({ ...files, certChainFile: reversed }, self)).toThrow(/private key does not belong|did not sign/);
      // A certificate without a SPIFFE ID, or naming another app or namespace.
      const plain = pki.issue(issuer, 'plain', { dns: ['localhost'], chainBelow: [issuer] });
      expect(() => loadMtls({ ...files, certChainFile: plain.chainFile, certKeyFile: plain.keyFile }, self)).toThrow(`--cert-chain-file ${plain.chainFile}: the certificate has no SPIFFE ID`);
      expect(() => loadMtls(files, { appId: 'b', namespace: '' })).toThrow('SPIFFE ID spiffe://public/ns/default/a does not name this sidecar (app id "b", namespace "default")');
      expect(() => loadMtls(files, { appId: 'a', namespace: 'prod' })).toThrow('(app id "a", namespace "prod")');
    });
  });

  describe('loadTransportSecurity', () => {
    it('mTLS follows --enable-mtls, else spec.mtls.enabled; files given while it is off are reported', () => {
      const w = pki.workload(issuer, 'a');
      const files = { trustAnchorsFile: root.certFile, certChainFile: w.chainFile, certKeyFile: w.keyFile };
      expect(loadTransportSecurity(flags({ enabled: true, ...files }), { namespace: '', env: {} }).mtls?.identity.appId).toBe('a');
      expect(loadTransportSecurity(flags(files), { configMtls: true, namespace: '', env: {} }).mtls).toBeDefined();
      const off = loadTransportSecurity(flags({ enabled: false, ...files }), { configMtls: true, namespace: '', env: { DAPR_CERT_KEY: 'x' } });
      expect(off.mtls).toBeUndefined();
      expect(off.warnings).toEqual(['mTLS is off (neither --enable-mtls nor Configuration spec.mtls.enabled): ignoring --trust-anchors-file, --cert-chain-file, --cert-key-file, DAPR_CERT_KEY; calls between sidecars are not encrypted']);
      expect(loadTransportSecurity(flags(), { namespace: '', env: {} })).toEqual({ warnings: [], notes: [] });
      expect(loadTransportSecurity(flags({ enabled: true, ...files }), { namespace: '', env: {} }).notes).toEqual(['mTLS is enabled between sidecars; this sidecar is spiffe://public/ns/default/a']);
      expect(() => loadTransportSecurity({ appId: '', mtls: { enabled: true, ...files }, apiTls: {} }, { namespace: '', env: {} })).toThrow('mTLS needs --app-id');
    });
  });
});
