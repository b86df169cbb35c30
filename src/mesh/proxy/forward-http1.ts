// HTTP/1.1 to a cluster's endpoints: one keep-alive node:http Agent per endpoint (at most
// maxConnections sockets, idle ones kept for keepAlive, most recently used first so the spare ones
// age out). The request body is piped only once the socket is connected: a refused connection
// leaves it unread, so the cluster may still try another endpoint with it.
import { Agent, type IncomingMessage, request } from 'node:http';
import type { Socket } from 'node:net';
import type { ClusterConfig } from './config';
import { type AttemptResult, type Endpoint, UpstreamError } from './cluster/types';
import { endToEnd } from './headers';
import { attemptResult, type Forwarder, responseIsGrpc, type UpstreamRequest, type UpstreamResponse } from './upstream';

/** An answer whose body is at most this is drained when dropped, so its connection stays pooled. */
const DRAIN_LIMIT = 64 * 1024;

export class Http1Forwarder implements Forwarder {
  private readonly agents = new Map<string, Agent>();

  constructor(private readonly config: ClusterConfig) {}

  attempt(req: UpstreamRequest, ep: Endpoint, signal: AbortSignal): Promise<AttemptResult<UpstreamResponse>> {
    return new Promise((resolve, reject) => {
      let connected = false;
      let settled = false;
      let connectTimer: NodeJS.Timeout | undefined;
      req.headers.host = req.authority;
      const out = request({ agent: this.agent(ep), host: ep.host, port: ep.port, method: req.method, path: req.path, headers: req.headers, setHost: false });
      const onAbort = () => out.destroy(signal.reason as Error);
      const done = () => {
        settled = true;
        if (connectTimer) clearTimeout(connectTimer);
        signal.removeEventListener('abort', onAbort);
      };
      const send = () => {
        connected = true;
        if (connectTimer) clearTimeout(connectTimer);
        const body = req.body;
        if (body.buffered !== undefined) out.end(body.buffered);
        else if (body.stream === undefined) out.end();
        else {
          try {
            body.take().pipe(out);
          } catch (e) {
            out.destroy(e as Error);
          }
        }
      };
      out.once('socket', (socket: Socket) => {
        if (!socket.connecting) return send();
        connectTimer = setTimeout(() => out.destroy(new UpstreamError('connect-failure', `connect timeout after ${this.config.connectTimeout}ms`)), this.config.connectTimeout);
        socket.once('connect', send);
      });
      out.on('error', (e: Error & { code?: string }) => {
        if (settled) return;
        done();
        reject(e instanceof UpstreamError || signal.aborted ? e : new UpstreamError(connected ? 'reset' : 'connect-failure', e.code && !e.message.includes(e.code) ? `${e.code}: ${e.message}` : e.message, e));
      });
      out.once('response', (res: IncomingMessage) => {
        done();
        resolve(attemptResult(responseOf(res)));
      });
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  close(): void {
    for (const a of this.agents.values()) a.destroy();
    this.agents.clear();
  }

  private agent(ep: Endpoint): Agent {
    let a = this.agents.get(ep.address);
    if (!a) {
      const max = this.config.maxConnections;
      a = new Agent({ keepAlive: true, maxSockets: max, maxFreeSockets: max, timeout: this.config.keepAlive, scheduling: 'lifo' });
      this.agents.set(ep.address, a);
    }
    return a;
  }
}

function responseOf(res: IncomingMessage): UpstreamResponse {
  return {
    status: res.statusCode!,
    headers: endToEnd(res.headers),
    body: res,
    endAfterHeaders: false,
    grpc: responseIsGrpc(res.headers),
    trailers: () => {
      for (const _ in res.trailers) return res.trailers;
      return undefined;
    },
    abort: () => res.destroy(),
    discard: () => {
      if (res.complete) return;
      if (Number(res.headers['content-length']) <= DRAIN_LIMIT) res.resume();
      else res.destroy();
    },
  };
}
