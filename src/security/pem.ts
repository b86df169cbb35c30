// PEM material for TLS, read once at startup from a file or an environment variable, checked so a
// wrong file stops startup with its name instead of failing every handshake later.
import { createPrivateKey, type KeyObject, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';

/** Where a PEM came from, for error messages: `--flag <file>` or an environment variable. */
export interface PemSource {
  /** e.g. "--api-tls-cert-file /etc/tls/cert.pem" or "DAPR_CERT_CHAIN". */
  label: string;
  pem: string;
}

export class TlsConfigError extends Error {
  override readonly name = 'TlsConfigError';
}

/** Reads a PEM file named by a flag or an env var holding a path. */
export function fromFile(label: string, file: string): PemSource {
  try {
    return { label: `${label} ${file}`, pem: readFileSync(file, 'utf8') };
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'is a directory' : (e as Error).message;
    throw new TlsConfigError(`${label} ${file}: cannot read the file: ${why}`);
  }
}

const CERT_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** Every certificate in the PEM, in order; at least one. */
export function certificates(src: PemSource): X509Certificate[] {
  const blocks = src.pem.match(CERT_BLOCK) ?? [];
  if (blocks.length === 0) throw new TlsConfigError(`${src.label}: no PEM certificate (-----BEGIN CERTIFICATE-----) found`);
  return blocks.map((b, i) => {
    try {
      return new X509Certificate(b);
    } catch (e) {
      throw new TlsConfigError(`${src.label}: certificate ${i + 1} is not valid: ${(e as Error).message}`);
    }
  });
}

export function privateKey(src: PemSource): KeyObject {
  try {
    return createPrivateKey(src.pem);
  } catch (e) {
    throw new TlsConfigError(`${src.label}: not a PEM private key: ${(e as Error).message}`);
  }
}

/** The leaf must belong to the key and be valid now (an expired one fails every handshake). */
export function checkLeaf(leaf: X509Certificate, key: KeyObject, cert: PemSource, keySrc: PemSource, now = new Date()): void {
  if (!leaf.checkPrivateKey(key)) throw new TlsConfigError(`${keySrc.label}: the private key does not belong to the certificate in ${cert.label}`);
  if (new Date(leaf.validTo) < now) throw new TlsConfigError(`${cert.label}: the certificate expired on ${leaf.validTo}`);
  if (new Date(leaf.validFrom) > now) throw new TlsConfigError(`${cert.label}: the certificate is not valid before ${leaf.validFrom}`);
}
