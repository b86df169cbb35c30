// TLS on the public APIs (Dapr HTTP, Dapr gRPC, Layotto gRPC): daprd has no such flags, so these
// are ours: --api-tls-cert-file/--api-tls-key-file serve TLS, --api-tls-ca-file also requires
// clients to present a certificate signed by that CA. Checked at startup; reload.ts reads them again on change.
import type { SecureContextOptions } from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import { certificates, checkLeaf, fromFile, privateKey, TlsConfigError } from './pem';

export interface ApiTlsFiles {
  certFile?: string;
  keyFile?: string;
  caFile?: string;
}

export interface ApiTls {
  cert: Buffer;
  key: Buffer;
  /** Client CA: set when clients must present a certificate. */
  ca?: Buffer;
}

/** The API TLS material, or undefined when no files are given; a TlsConfigError names the bad file. */
export function loadApiTls(files: ApiTlsFiles): ApiTls | undefined {
  const { certFile, keyFile, caFile } = files;
  if (!certFile && !keyFile) {
    if (caFile) throw new TlsConfigError('--api-tls-ca-file needs --api-tls-cert-file and --api-tls-key-file (client certificates are checked on TLS connections only)');
    return undefined;
  }
  if (!certFile || !keyFile) throw new TlsConfigError(`--api-tls-${certFile ? 'key' : 'cert'}-file is missing: TLS on the APIs needs both --api-tls-cert-file and --api-tls-key-file`);
  const certSrc = fromFile('--api-tls-cert-file', certFile);
  const keySrc = fromFile('--api-tls-key-file', keyFile);
  checkLeaf(certificates(certSrc)[0]!, privateKey(keySrc), certSrc, keySrc);
  let ca: Buffer | undefined;
  if (caFile) {
    const caSrc = fromFile('--api-tls-ca-file', caFile);
    certificates(caSrc);
    ca = Buffer.from(caSrc.pem);
  }
  return { cert: Buffer.from(certSrc.pem), key: Buffer.from(keySrc.pem), ...(ca ? { ca } : {}) };
}

/** Options for node's https/tls servers. */
export function httpsOptions(tls: ApiTls): SecureContextOptions & { requestCert: boolean; rejectUnauthorized: boolean } {
  return { cert: tls.cert, key: tls.key, ...(tls.ca ? { ca: tls.ca } : {}), requestCert: !!tls.ca, rejectUnauthorized: !!tls.ca };
}

/** grpc-js server credentials: insecure without TLS, else TLS (checking client certificates with a CA). */
export function grpcServerCredentials(tls: ApiTls | undefined): grpc.ServerCredentials {
  if (!tls) return grpc.ServerCredentials.createInsecure();
  return grpc.ServerCredentials.createSsl(tls.ca ?? null, [{ cert_chain: tls.cert, private_key: tls.key }], !!tls.ca);
}

/**
 * Go's net/http (daprd) answers a plain HTTP request on its TLS port with a 400 saying so; node
 * just drops the connection. The TLS socket's underlying TCP socket (node's `_parent`, not public
 * API: skipped when absent) is still writable when the handshake failed that way.
 */
export function answerPlainHttp(server: { on(event: 'tlsClientError', cb: (err: NodeJS.ErrnoException, socket: unknown) => void): unknown }): void {
  server.on('tlsClientError', (err, socket) => {
    const raw = (socket as { _parent?: { destroyed: boolean; end(data: string): void } })._parent;
    if (err.code === 'ERR_SSL_HTTP_REQUEST' && raw && !raw.destroyed) raw.end('HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n');
  });
}
