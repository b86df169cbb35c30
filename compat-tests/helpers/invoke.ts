// Service invocation suites: a sidecar with a real @dapr/dapr DaprServer as its app (HTTP or gRPC,
// methods registered with server.invoker.listen), SDK clients that allow 16 MB messages, and a
// plain node:http app that records exactly what reached it and answers from a script.
import { CommunicationProtocolEnum, DaprClient, DaprServer } from '@dapr/dapr';
import { createHash } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { quietLogger } from './pubsub';
import { freePort, type Sidecar, type SidecarOptions, startSidecar, waitHealthy } from './sidecar';

export type Protocol = 'http' | 'grpc';

/** Big enough for the 5 MB cases, base64 and JSON overhead included. */
export const MAX_BODY_MB = 16;
export const MAX_BODY_ARGS = ['--max-body-size', `${MAX_BODY_MB}Mi`];

const sdkProtocol = (p: Protocol) => (p === 'grpc' ? CommunicationProtocolEnum.GRPC : CommunicationProtocolEnum.HTTP);

export function invokeClient(sc: Sidecar, protocol: Protocol): DaprClient {
  return new DaprClient({
    daprHost: '127.0.0.1',
    daprPort: String(protocol === 'grpc' ? sc.grpcPort : sc.httpPort),
    communicationProtocol: sdkProtocol(protocol),
    maxBodySizeMb: MAX_BODY_MB,
    logger: quietLogger,
  });
}

/** SDK clients made for one suite, all stopped by stopAll() (a client keeps its connections open until then). */
export class SdkClients {
  private readonly made: DaprClient[] = [];

  constructor(private readonly sidecar: () => Sidecar) {}

  of(protocol: Protocol): DaprClient {
    const c = invokeClient(this.sidecar(), protocol);
    this.made.push(c);
    return c;
  }

  async stopAll(): Promise<void> {
    await Promise.all(this.made.map((c) => c.stop().catch(() => undefined)));
  }
}

export interface SdkApp {
  sc: Sidecar;
  server: DaprServer;
  stop: () => Promise<void>;
}

/** A sidecar for app `appId` plus a DaprServer on its app port; `register` adds the methods first. */
export async function startSdkApp(protocol: Protocol, appId: string, register: (server: DaprServer) => Promise<void>, opts: SidecarOptions = {}): Promise<SdkApp> {
  const appPort = await freePort();
  const sc = await startSidecar({ ...opts, appId, wait: false, args: ['--app-port', String(appPort), '--app-protocol', protocol, ...MAX_BODY_ARGS, ...(opts.args ?? [])] });
  const server = new DaprServer({
    serverHost: '127.0.0.1',
    serverPort: String(appPort),
    communicationProtocol: sdkProtocol(protocol),
    maxBodySizeMb: MAX_BODY_MB,
    clientOptions: { daprHost: '127.0.0.1', daprPort: String(protocol === 'grpc' ? sc.grpcPort : sc.httpPort), communicationProtocol: sdkProtocol(protocol), maxBodySizeMb: MAX_BODY_MB, logger: quietLogger },
    logger: quietLogger,
  });
  const stop = async () => {
    await sc.stop();
    await server.stop().catch(() => undefined);
    await server.client.stop().catch(() => undefined);
  };
  try {
    await register(server);
    await server.start();
    await waitHealthy(sc);
  } catch (e) {
    await stop();
    throw e;
  }
  return { sc, server, stop };
}

export const sha256 = (data: Buffer | string): string => createHash('sha256').update(data).digest('hex');

/** What a plain app saw of one request (the body as its length and hash, plus its text when small). */
export interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  /** Header lines as sent, names lower-cased, repeated ones kept apart. */
  distinct: Record<string, string[]>;
  length: number;
  sha256: string;
  text: string;
}

export type Script = (seen: Seen, res: ServerResponse) => void;

/** A node:http app that records every request and answers `script` (default: 200 with a JSON echo). */
export class PlainApp {
  readonly seen: Seen[] = [];
  /** Small chunks as they arrive, before their request ends (to see that bodies stream). */
  readonly arriving: string[] = [];
  script: Script = (s, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ method: s.method, url: s.url, length: s.length }));
  private server?: Server;
  port = 0;

  async start(port = 0): Promise<this> {
    this.server = createServer((req: IncomingMessage, res: ServerResponse) => {
      // The sidecar's own startup calls (no programmatic subscriptions): not part of any case.
      if (req.url === '/dapr/subscribe' || req.url === '/dapr/config') {
        res.writeHead(404).end();
        return;
      }
      const hash = createHash('sha256');
      let length = 0;
      const head: Buffer[] = [];
      req.on('data', (c: Buffer) => {
        hash.update(c);
        length += c.length;
        if (length <= 4096) {
          head.push(c);
          this.arriving.push(c.toString());
        }
      });
      req.on('end', () => {
        const s: Seen = { method: req.method!, url: req.url!, headers: req.headers, distinct: req.headersDistinct as Record<string, string[]>, length, sha256: hash.digest('hex'), text: Buffer.concat(head).toString() };
        this.seen.push(s);
        this.script(s, res);
      });
    });
    await new Promise<void>((r) => this.server!.listen(port, '127.0.0.1', r));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  last(): Seen {
    const s = this.seen.at(-1);
    if (!s) throw new Error('the app got no request');
    return s;
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server!.close(() => r()));
    this.server = undefined;
  }
}
