// What the proxy manager needs from a listener of either protocol.
import type { Server } from 'node:net';
import type { ListenerConfig } from './config';

export interface ProxyListener {
  readonly config: ListenerConfig;
  /** The bound port (the configured one, or the one the OS chose for port 0). */
  readonly port: number;
  readonly stats: Record<string, number>;
  start(): Promise<void>;
  /** Stops accepting; in-flight requests and tunnels get graceMs to finish, then are cut. */
  close(graceMs: number): Promise<void>;
  /** Cuts every open connection now (a listener that was draining when the proxy stops). */
  cut(): void;
}

/** Binds the listener's address; a failure names the listener and the address. */
export function listen(server: Server, config: ListenerConfig): Promise<number> {
  const { host, port } = config.address;
  return new Promise((resolve, reject) => {
    const onError = (e: Error) => reject(new Error(`listener ${config.name}: cannot listen on ${host.includes(':') ? `[${host}]` : host}:${port}: ${e.message}`));
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve((server.address() as { port: number }).port);
    });
  });
}
