// The API TLS files (--api-tls-cert-file/key-file/ca-file) are read again when they change on disk
// (a rotated certificate, a new client CA): new connections on the HTTP listeners (node's
// setSecureContext) and on the gRPC API servers (grpc-js re-applies its credentials' context to its
// http2 servers) get the new material; open connections keep theirs. A new set that does not load
// (unreadable, not PEM, a key that is not the certificate's) is logged and the old one keeps serving.
import { createSecureContext, type SecureContextOptions } from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import { type FSWatcher, watch } from 'chokidar';
import type { Logger } from 'pino';
import { errMessage } from '../errors/runtime-error';
import { type ApiTls, type ApiTlsFiles, loadApiTls } from './tls';

/** Quiet time after the last file event before the files are read. */
const QUIET_MS = 300;

const contextOf = (tls: ApiTls): SecureContextOptions => ({ cert: tls.cert, key: tls.key, ...(tls.ca ? { ca: tls.ca } : {}) });

/** grpc-js server credentials whose context can be replaced; servers bound with them follow. */
class ReloadableServerCredentials extends grpc.ServerCredentials {
  constructor(tls: ApiTls) {
    // Whether client certificates are required is fixed at startup (a CA file given or not).
    super({ requestCert: !!tls.ca, rejectUnauthorized: !!tls.ca }, contextOf(tls));
  }

  replace(tls: ApiTls): void {
    this.updateSecureContextOptions(contextOf(tls));
  }

  _equals(other: grpc.ServerCredentials): boolean {
    return other === this;
  }
}

/** Something serving TLS whose context can be swapped (node's tls/https servers). */
export interface SecureServer {
  setSecureContext(options: SecureContextOptions): void;
}

export class ApiTlsReloader {
  readonly credentials: ReloadableServerCredentials;
  private current: ApiTls;
  private readonly servers = new Set<SecureServer>();
  private watcher?: FSWatcher;
  private pending?: NodeJS.Timeout;

  constructor(
    private readonly files: ApiTlsFiles,
    initial: ApiTls,
    private readonly log: Logger,
  ) {
    this.current = initial;
    this.credentials = new ReloadableServerCredentials(initial);
  }

  /**
   * Starts watching the files. A rotation rewrites the certificate and the key one after the other:
   * one read once both have settled (chokidar waits for each write to finish, then a short quiet
   * time for the other file), not one per file with a mismatched pair in between.
   */
  start(): void {
    const paths = [this.files.certFile, this.files.keyFile, this.files.caFile].filter((p): p is string => !!p);
    this.watcher = watch(paths, { ignoreInitial: true, awaitWriteFinish: { stabilityThreshold: 200, pollInterval: 50 } });
    this.watcher.on('all', () => {
      clearTimeout(this.pending);
      this.pending = setTimeout(() => this.reload(), QUIET_MS);
      this.pending.unref();
    });
    this.watcher.on('error', (e) => this.log.warn(`API TLS files: watching failed: ${errMessage(e)}`));
  }

  /** A listener to give new contexts to. */
  serve(server: SecureServer): void {
    this.servers.add(server);
  }

  /** Reads the files again; the old material stays when the new does not load or is the same. */
  reload(): void {
    let next: ApiTls | undefined;
    try {
      next = loadApiTls(this.files);
      if (next) createSecureContext(contextOf(next)); // what the servers would refuse, refused before any takes it
    } catch (e) {
      this.log.error(`API TLS files changed but do not load; still serving the previous certificate: ${errMessage(e)}`);
      return;
    }
    if (!next || (next.cert.equals(this.current.cert) && next.key.equals(this.current.key) && (next.ca?.equals(this.current.ca ?? Buffer.alloc(0)) ?? !this.current.ca))) return;
    for (const s of this.servers) s.setSecureContext(contextOf(next));
    this.current = next;
    this.credentials.replace(next);
    this.log.info('API TLS certificate reloaded from its files; new connections use it');
  }

  async close(): Promise<void> {
    clearTimeout(this.pending);
    await this.watcher?.close();
  }
}
