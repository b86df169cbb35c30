// Test PKI made with the openssl command line (node:crypto cannot sign certificates): CAs, issuers
// and leaf certificates with SPIFFE URI SANs, as daprd's Sentry would issue them. Files live in a
// fresh temp dir; every function returns the PEM files' paths and contents.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { connect as h2connect } from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Issued {
  certFile: string;
  keyFile: string;
  cert: string;
  key: string;
}

export interface Leaf extends Issued {
  /** Leaf then the issuers below the root (what a workload presents). */
  chainFile: string;
  chain: string;
}

const openssl = (args: string[]) => execFileSync('openssl', args, { stdio: ['ignore', 'pipe', 'pipe'] });

/** Whether the openssl binary is there (the tests skip loudly without it). */
export function hasOpenssl(): boolean {
  try {
    openssl(['version']);
    return true;
  } catch {
    return false;
  }
}

export class TestPki {
  readonly dir = mkdtempSync(join(tmpdir(), 'layotto-ts-pki-'));
  private n = 0;

  private paths(name: string) {
    const base = join(this.dir, `${++this.n}-${name.replace(/[^A-Za-z0-9.-]/g, '_')}`);
    return { certFile: `${base}.crt`, keyFile: `${base}.key`, csr: `${base}.csr`, ext: `${base}.ext` };
  }

  private read(p: { certFile: string; keyFile: string }): Issued {
    return { certFile: p.certFile, keyFile: p.keyFile, cert: readFileSync(p.certFile, 'utf8'), key: readFileSync(p.keyFile, 'utf8') };
  }

  /** A self-signed root CA. */
  ca(name: string): Issued {
    const p = this.paths(name);
    openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', p.keyFile, '-out', p.certFile, '-days', '2', '-subj', `/CN=${name}`,
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
    return this.read(p);
  }

  /** A certificate signed by `by`: an intermediate CA, or a leaf with the given SANs. */
  issue(by: Issued, name: string, o: { ca?: boolean; spiffe?: string; dns?: string[]; ip?: string[]; days?: number; chainBelow?: Issued[] } = {}): Leaf {
    const p = this.paths(name);
    openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', p.keyFile, '-out', p.csr, '-subj', `/CN=${name}`]);
    const sans = [...(o.spiffe ? [`URI:${o.spiffe}`] : []), ...(o.dns ?? []).map((d) => `DNS:${d}`), ...(o.ip ?? []).map((i) => `IP:${i}`)];
    const ext = o.ca
      ? ['basicConstraints=critical,CA:TRUE', 'keyUsage=critical,keyCertSign,cRLSign']
      : ['basicConstraints=critical,CA:FALSE', 'keyUsage=critical,digitalSignature,keyEncipherment', 'extendedKeyUsage=serverAuth,clientAuth', ...(sans.length ? [`subjectAltName=${sans.join(',')}`] : [])];
    writeFileSync(p.ext, ext.join('\n') + '\n');
    openssl(['x509', '-req', '-in', p.csr, '-CA', by.certFile, '-CAkey', by.keyFile, '-set_serial', String(Date.now() * 1000 + this.n), '-out', p.certFile, '-days', String(o.days ?? 1), '-extfile', p.ext]);
    const issued = this.read(p);
    // The issuer goes along when it is not the root itself (o.chainBelow: what the issuer's own chain adds).
    const chain = [issued.cert, ...(o.chainBelow ?? []).map((c) => c.cert)].join('');
    const chainFile = `${p.certFile}.chain.pem`;
    writeFileSync(chainFile, chain);
    return { ...issued, chain, chainFile };
  }

  /** Sentry's two CA levels: a root (the trust bundle) and an issuer below it that signs workloads. */
  rootAndIssuer(): { root: Issued; issuer: Issued } {
    const root = this.ca('root');
    return { root, issuer: this.issue(root, 'issuer', { ca: true }) };
  }

  /** Dapr's layout: root → issuer → workload certificate for spiffe://<td>/ns/<ns>/<appId>; chain = leaf + issuer. */
  workload(issuer: Issued, appId: string, o: { namespace?: string; trustDomain?: string } = {}): Leaf {
    return this.issue(issuer, appId, { spiffe: `spiffe://${o.trustDomain ?? 'public'}/ns/${o.namespace ?? 'default'}/${appId}`, dns: ['localhost'], ip: ['127.0.0.1'], chainBelow: [issuer] });
  }
}

/** `describe` when openssl is there; else a loud skip, or a failure under CI=true. */
export function describeWithOpenssl(what: string): jest.Describe {
  if (hasOpenssl()) return describe;
  if (process.env.CI === 'true') throw new Error(`openssl is required for ${what}`);
  console.warn(`SKIPPING ${what}: no openssl binary`);
  return describe.skip;
}

/**
 * Opens an HTTP/2 TLS connection to a sidecar's internal port without a client certificate and
 * starts a CallLocalStream; resolves with the error code it ends with ('answered' if it got in).
 */
export function callWithoutClientCert(port: number, ca: string): Promise<string> {
  return new Promise<string>((resolve) => {
    const session = h2connect(`https://127.0.0.1:${port}`, { ca, checkServerIdentity: () => undefined });
    const done = (why: string) => {
      session.destroy();
      resolve(why);
    };
    session.on('error', (e: NodeJS.ErrnoException) => done(e.code ?? e.message));
    const st = session.request({ ':method': 'POST', ':path': '/dapr.proto.internals.v1.ServiceInvocation/CallLocalStream', 'content-type': 'application/grpc' });
    st.on('response', () => done('answered'));
    st.on('error', (e: NodeJS.ErrnoException) => done(e.code ?? e.message));
    st.end();
  });
}
