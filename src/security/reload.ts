// Certificate files are read again when they change on disk (a rotated certificate, a new CA): the
// API TLS files (--api-tls-cert-file/key-file/ca-file) for the HTTP listeners (node's
// setSecureContext) and the gRPC API servers (grpc-js re-applies its credentials' context), and the
// mTLS files for the internal server and the connections to other sidecars. New connections get
// the new material; open ones keep theirs. A new set that does not load (unreadable, not PEM, a key
// that is not the certificate's, a chain off the bundle) is logged and the old one keeps serving.
import { createSecureContext, type SecureContextOptions } from 'node:tls';
import { type FSWatcher, watch } from 'chokidar';
import type { Logger } from 'pino';
import { errMessage } from '../errors/runtime-error';
import { loadMtls, type Mtls, type MtlsSources, replaceMtls } from './mtls';
import { ReloadableServerCredentials } from './reloadable-credentials';
import { formatSpiffeId } from './spiffe';
import { type ApiTls, type ApiTlsFiles, loadApiTls } from './tls';

/** Quiet time after the last file event before the files are read. */
const QUIET_MS = 300;

export interface FileWatch {
  close(): Promise<void>;
}

/**
 * Calls `onSettled` once the watched files have settled after a change. A rotation rewrites the
 * certificate and the key one after the other: one read once both are written (chokidar waits for
 * each write to finish, then a short quiet time for the others), not one per file with a mismatched
 * pair in between.
 */
function watchFiles(paths: (string | undefined)[], onSettled: () => void, log: Logger): FileWatch {
  let pending: NodeJS.Timeout | undefined;
  const watcher: FSWatcher = watch(paths.filter((p): p is string => !!p), { ignoreInitial: true, awaitWriteFinish: { stabilityThreshold: 200, pollInterval: 50 } });
  watcher.on('all', () => {
    clearTimeout(pending);
    pending = setTimeout(onSettled, QUIET_MS);
    pending.unref();
  });
  watcher.on('error', (e) => log.warn(`certificate files: watching failed: ${errMessage(e)}`));
  return {
    close: async () => {
      clearTimeout(pending);
      await watcher.close();
    },
  };
}

/**
 * Watches the mTLS files (trust bundle, workload chain and key; PEM given in env vars cannot
 * change): a new set is loaded and checked as at startup, then swapped in (replaceMtls). One that
 * does not load is logged and the old material stays. Undefined when no material comes from files.
 */
export function watchMtls(m: Mtls, src: MtlsSources, self: { appId: string; namespace: string }, log: Logger): FileWatch | undefined {
  const paths = [src.trustAnchorsFile, src.certChainFile, src.certKeyFile, src.trustAnchorsFile ? undefined : src.env.DAPR_TRUST_ANCHORS_FILE].filter((p): p is string => !!p);
  if (paths.length === 0) return undefined;
  return watchFiles(paths, () => {
    let next: Mtls;
    try {
      next = loadMtls(src, self);
      createSecureContext({ ca: next.trustAnchors, cert: next.certChain, key: next.key });
    } catch (e) {
      log.error(`mTLS files changed but do not load; still using the previous certificate and trust bundle: ${errMessage(e)}`);
      return;
    }
    if (next.certChain.equals(m.certChain) && next.key.equals(m.key) && next.trustAnchors.equals(m.trustAnchors)) return;
    replaceMtls(m, next);
    log.info(`mTLS certificate and trust bundle reloaded from their files; new connections use them (${formatSpiffeId(next.identity)})`);
  }, log);
}

const contextOf = (tls: ApiTls): SecureContextOptions => ({ cert: tls.cert, key: tls.key, ...(tls.ca ? { ca: tls.ca } : {}) });

/** Something serving TLS whose context can be swapped (node's tls/https servers). */
export interface SecureServer {
  setSecureContext(options: SecureContextOptions): void;
}

export class ApiTlsReloader {
  readonly credentials: ReloadableServerCredentials;
  private current: ApiTls;
  private readonly servers = new Set<SecureServer>();
  private watcher?: FileWatch;

  constructor(
    private readonly files: ApiTlsFiles,
    initial: ApiTls,
    private readonly log: Logger,
  ) {
    this.current = initial;
    this.credentials = new ReloadableServerCredentials(contextOf(initial), !!initial.ca);
  }

  /** Starts watching the files. */
  start(): void {
    this.watcher = watchFiles([this.files.certFile, this.files.keyFile, this.files.caFile], () => this.reload(), this.log);
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
    this.credentials.replace(contextOf(next));
    this.log.info('API TLS certificate reloaded from its files; new connections use it');
  }

  async close(): Promise<void> {
    await this.watcher?.close();
  }
}
