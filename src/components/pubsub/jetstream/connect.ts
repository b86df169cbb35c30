// Opens the NATS connection for pubsub.jetstream: contrib's credential order (jwt+seedKey, then TLS
// client cert, then token), a bounded first connect so a wrong address fails init, and endless
// reconnects afterwards so a broker that goes away later is waited for, not fatal.
import { connect } from '@nats-io/transport-node';
// transport-node re-exports nats-core through a subpath TypeScript's node resolution cannot see;
// nats-core (its exact-version dependency) is the typed public entry, as for @nats-io/jetstream.
import { jwtAuthenticator, type ConnectionOptions, type NatsConnection } from '@nats-io/nats-core';
import { jetstreamManager, type JetStreamManager, type JetStreamOptions } from '@nats-io/jetstream';
import type { JetStreamConfig } from './metadata';

/** The first connect's bound, and (the client's default) every request's, publishes included. */
export const CONNECT_TIMEOUT_MS = 5000;

export function connectionOptions(cfg: JetStreamConfig): ConnectionOptions {
  const opts: ConnectionOptions = {
    servers: cfg.natsURL.split(',').map((s) => s.trim()).filter(Boolean),
    name: cfg.name,
    timeout: CONNECT_TIMEOUT_MS,
    reconnect: true,
    maxReconnectAttempts: -1,
  };
  if (cfg.jwt && cfg.seedKey) opts.authenticator = jwtAuthenticator(cfg.jwt, new TextEncoder().encode(cfg.seedKey));
  else if (cfg.tls_client_cert && cfg.tls_client_key) opts.tls = { certFile: cfg.tls_client_cert, keyFile: cfg.tls_client_key };
  else if (cfg.token) opts.token = cfg.token;
  return opts;
}

/** domain/apiPrefix only when set: the client rejects keys that are present but undefined. */
export function jetStreamOptions(cfg: JetStreamConfig): JetStreamOptions {
  const opts: JetStreamOptions = {};
  if (cfg.domain) opts.domain = cfg.domain;
  if (cfg.apiPrefix) opts.apiPrefix = cfg.apiPrefix;
  return opts;
}

export interface JetStreamConnection {
  nc: NatsConnection;
  jsm: JetStreamManager;
  link: LinkState;
}

/** Whether the connection is up now and the last error it saw, from its status events, for error messages. */
export class LinkState {
  up = true;
  lastError?: string;

  constructor(nc: NatsConnection) {
    void this.follow(nc);
  }

  /** "" while connected, else " (disconnected: <why>; reconnecting)". */
  note(): string {
    return this.up ? '' : ` (disconnected${this.lastError ? `: ${this.lastError}` : ''}; reconnecting)`;
  }

  private async follow(nc: NatsConnection): Promise<void> {
    try {
      for await (const s of nc.status()) {
        if (s.type === 'disconnect') this.up = false;
        else if (s.type === 'reconnect') {
          this.up = true;
          this.lastError = undefined;
        } else if (s.type === 'error') this.lastError = s.error.message;
      }
    } catch {
      // The iterator ends with the connection.
    }
  }
}

/** Connects and checks that JetStream answers (the manager asks for the account info). */
export async function connectJetStream(cfg: JetStreamConfig): Promise<JetStreamConnection> {
  let nc: NatsConnection;
  try {
    nc = await connect(connectionOptions(cfg));
  } catch (e) {
    throw new Error(`pubsub.jetstream: error connecting to NATS at ${cfg.natsURL}: ${(e as Error).message}`);
  }
  // closed() resolves with the error that ended the connection; nobody else waits on it.
  nc.closed().catch(() => undefined);
  try {
    const jsm = await jetstreamManager(nc, jetStreamOptions(cfg));
    return { nc, jsm, link: new LinkState(nc) };
  } catch (e) {
    await nc.close().catch(() => undefined);
    throw new Error(`pubsub.jetstream: JetStream is not available at ${cfg.natsURL}: ${(e as Error).message}`);
  }
}
