// grpc-js server credentials whose TLS context can be replaced after the server is bound: grpc-js
// gives each of its http2 servers the new context (setSecureContext), so new connections get it.
import type { SecureContextOptions } from 'node:tls';
import * as grpc from '@grpc/grpc-js';

export class ReloadableServerCredentials extends grpc.ServerCredentials {
  constructor(context: SecureContextOptions, requireClientCert: boolean) {
    // Whether client certificates are required is fixed for the server's life.
    super({ requestCert: requireClientCert, rejectUnauthorized: requireClientCert }, context);
  }

  replace(context: SecureContextOptions): void {
    this.updateSecureContextOptions(context);
  }

  _equals(other: grpc.ServerCredentials): boolean {
    return other === this;
  }
}
