// Mutual TLS between sidecars without a CA service: the trust bundle (trust anchors) and this
// sidecar's workload certificate (an X509-SVID: chain + key) come from files or daprd's env vars.
// The server side requires a client certificate that chains to the bundle and carries a SPIFFE
// ID (daprd's AuthorizeAny); the client side checks that the callee's SPIFFE ID path is
// /ns/<namespace>/<app id> of the app it meant to reach, in any trust domain (daprd's
// GRPCDialOptionMTLSUnknownTrustDomain). replaceMtls swaps the material in place (reload.ts, when the
// files change): new connections both ways use it, open ones keep theirs.
import type { X509Certificate } from 'node:crypto';
import type { SecureClientSessionOptions } from 'node:http2';
import { TLSSocket, type PeerCertificate } from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import { ReloadableServerCredentials } from './reloadable-credentials';
import { certificates, checkLeaf, fromFile, type PemSource, privateKey, TlsConfigError } from './pem';
import { formatSpiffeId, type SpiffeId, spiffeIdFromSan, spiffeNamespace } from './spiffe';

/** Where the material comes from: our flags (files) first, then daprd's env vars. */
export interface MtlsSources {
  /** --trust-anchors-file */
  trustAnchorsFile?: string;
  /** --cert-chain-file */
  certChainFile?: string;
  /** --cert-key-file */
  certKeyFile?: string;
  /** DAPR_TRUST_ANCHORS (PEM), DAPR_TRUST_ANCHORS_FILE (path), DAPR_CERT_CHAIN, DAPR_CERT_KEY (PEM). */
  env: NodeJS.ProcessEnv;
}

export interface Mtls {
  trustAnchors: Buffer;
  certChain: Buffer;
  key: Buffer;
  /** This sidecar's SPIFFE ID, from its certificate. */
  identity: SpiffeId;
}

function pick(what: string, flag: [string, string | undefined], fileEnv: string | undefined, pemEnv: string, env: NodeJS.ProcessEnv): PemSource {
  const [flagName, file] = flag;
  if (file) return fromFile(flagName, file);
  const fromEnvFile = fileEnv ? env[fileEnv] : undefined;
  const pem = env[pemEnv];
  if (fromEnvFile && pem) throw new TlsConfigError(`${what}: set either ${fileEnv} or ${pemEnv}, not both`);
  if (fromEnvFile) return fromFile(fileEnv!, fromEnvFile);
  if (pem) return { label: pemEnv, pem };
  const alternatives = [flagName, ...(fileEnv ? [fileEnv] : []), `${pemEnv} (PEM)`].join(', ');
  throw new TlsConfigError(`mTLS is enabled but no ${what} was given: set ${alternatives} (this sidecar has no Sentry CA client)`);
}

/** Loads and checks the bundle and the workload certificate; it must name this app in this namespace. */
export function loadMtls(src: MtlsSources, self: { appId: string; namespace: string }): Mtls {
  const anchorsSrc = pick('trust anchors', ['--trust-anchors-file', src.trustAnchorsFile], 'DAPR_TRUST_ANCHORS_FILE', 'DAPR_TRUST_ANCHORS', src.env);
  const chainSrc = pick('certificate chain', ['--cert-chain-file', src.certChainFile], undefined, 'DAPR_CERT_CHAIN', src.env);
  const keySrc = pick('certificate key', ['--cert-key-file', src.certKeyFile], undefined, 'DAPR_CERT_KEY', src.env);
  const anchors = certificates(anchorsSrc);
  const chain = certificates(chainSrc);
  checkLeaf(chain[0]!, privateKey(keySrc), chainSrc, keySrc);
  checkChain(chain, anchors, chainSrc, anchorsSrc);
  const identity = spiffeIdFromSan(chain[0]!.subjectAltName);
  if (typeof identity === 'string') throw new TlsConfigError(`${chainSrc.label}: ${identity}`);
  const ns = spiffeNamespace(self.namespace);
  if (identity.appId !== self.appId || identity.namespace !== ns) {
    throw new TlsConfigError(`${chainSrc.label}: the certificate's SPIFFE ID ${formatSpiffeId(identity)} does not name this sidecar (app id "${self.appId}", namespace "${ns}"); callers would refuse it`);
  }
  return { trustAnchors: Buffer.from(anchorsSrc.pem), certChain: Buffer.from(chainSrc.pem), key: Buffer.from(keySrc.pem), identity };
}

/** Each certificate is signed by the next, and the last by (or is) a trust anchor. */
function checkChain(chain: X509Certificate[], anchors: X509Certificate[], chainSrc: PemSource, anchorsSrc: PemSource): void {
  const signs = (issuer: X509Certificate, cert: X509Certificate) => cert.checkIssued(issuer) && cert.verify(issuer.publicKey);
  for (let i = 0; i + 1 < chain.length; i++) {
    if (!signs(chain[i + 1]!, chain[i]!)) throw new TlsConfigError(`${chainSrc.label}: certificate ${i + 2} ("${chain[i + 1]!.subject}") did not sign certificate ${i + 1}; put the leaf first, then its issuers`);
  }
  const last = chain[chain.length - 1]!;
  if (anchors.some((a) => a.fingerprint256 === last.fingerprint256 || signs(a, last))) return;
  throw new TlsConfigError(`${chainSrc.label}: the certificate chain does not lead to a trust anchor in ${anchorsSrc.label} (last issuer: "${last.issuer.replace(/\n/g, ', ')}")`);
}

const serverContext = (m: Mtls) => ({ ca: m.trustAnchors, cert: m.certChain, key: m.key });
const replaced = new WeakMap<Mtls, Set<() => void>>();

/** The internal server: TLS with this sidecar's certificate, client certificates required and checked; follows replaceMtls. */
export function mtlsServerCredentials(m: Mtls): grpc.ServerCredentials {
  const creds = new ReloadableServerCredentials(serverContext(m), true);
  const listeners = replaced.get(m) ?? replaced.set(m, new Set()).get(m)!;
  listeners.add(() => creds.replace(serverContext(m)));
  return creds;
}

/** Swaps in newly loaded material: the servers' credentials follow, clients read `m` per new connection. */
export function replaceMtls(m: Mtls, next: Mtls): void {
  Object.assign(m, next);
  for (const l of replaced.get(m) ?? []) l();
}

/** Client session options towards the sidecar of `target` (its SPIFFE path must match). */
export function mtlsClientOptions(m: Mtls, target: { appId: string; namespace: string }): SecureClientSessionOptions {
  const ns = spiffeNamespace(target.namespace);
  return {
    ca: m.trustAnchors,
    cert: m.certChain,
    key: m.key,
    // Runs after the chain was verified against the bundle; host names play no part in SPIFFE.
    checkServerIdentity: (host: string, cert: PeerCertificate) => {
      const id = spiffeIdFromSan(cert.subjectaltname);
      if (typeof id === 'string') return new Error(`the sidecar at ${host} is not a Dapr workload: ${id}`);
      if (id.namespace === ns && id.appId === target.appId) return undefined;
      return new Error(`the sidecar at ${host} presented SPIFFE ID ${formatSpiffeId(id)}, expected spiffe://<any trust domain>/ns/${ns}/${target.appId}`);
    },
  };
}

const identities = new WeakMap<TLSSocket, SpiffeId | string>();

/**
 * The verified SPIFFE ID of the peer on a server-side socket (cached per connection), or why there
 * is none: a plain socket, an unverified peer, or a certificate without a SPIFFE ID.
 */
export function peerIdentity(socket: unknown): SpiffeId | string {
  if (!(socket instanceof TLSSocket)) return 'the connection is not TLS';
  let id = identities.get(socket);
  if (id === undefined) {
    id = socket.authorized ? spiffeIdFromSan(socket.getPeerCertificate().subjectaltname) : `the peer certificate was not verified: ${String(socket.authorizationError ?? 'none presented')}`;
    identities.set(socket, id);
  }
  return id;
}

/**
 * A TLS failure in a few words: OpenSSL's reason ("tlsv13 alert certificate required") rather than
 * its whole error line; node's verification errors ("unable to verify the first certificate") and
 * our SPIFFE checks as they are.
 */
export function tlsFailure(e: NodeJS.ErrnoException): string {
  const plain = ' (the other side does not speak TLS: is mTLS enabled there?)';
  if (e.code === 'ERR_SSL_WRONG_VERSION_NUMBER') return `wrong version number${plain}`;
  if (e.code === 'ECONNRESET') return `${e.message}${plain}`;
  if (e.code?.startsWith('ERR_SSL')) return /SSL routines:[^:]*:([^:]+)/.exec(e.message)?.[1] ?? e.message;
  return e.message;
}
