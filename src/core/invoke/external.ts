// Non-Dapr targets: HTTPEndpoint resources (a name for a base URL plus headers to add) and full
// http(s):// URLs given as the app id. Both are called directly over one undici Agent (a pool per
// origin), as daprd's HTTP endpoint channel does; no app token goes to a host outside the app.
import { Agent } from 'undici';
import { requestHeaders, requestPath, responseOf } from './http-wire';
import type { InvokeRequest, InvokeResponse, Invoker } from './types';

export interface HttpEndpoint {
  name: string;
  baseUrl: string;
  /** Headers added to every call (resolved values, secretKeyRefs included). */
  headers: Record<string, string>;
}

export const isUrlTarget = (id: string): boolean => /^https?:\/\//i.test(id);

export class ExternalInvokers {
  private readonly agent = new Agent({ headersTimeout: 0, bodyTimeout: 0 });
  private endpoints = new Map<string, HttpEndpoint>();

  /** Replaces the HTTPEndpoint resources (startup; later hot reload). */
  setEndpoints(list: HttpEndpoint[]): void {
    this.endpoints = new Map(list.map((e) => [e.name, e]));
  }

  list(): HttpEndpoint[] {
    return [...this.endpoints.values()];
  }

  /** The invoker for an HTTPEndpoint name (with its base URL) or a URL target; undefined for an app id. */
  find(id: string): { invoker: Invoker; baseUrl?: string } | undefined {
    const endpoint = this.endpoints.get(id);
    if (endpoint) return { invoker: { invoke: (req, signal) => this.call(endpoint.baseUrl, endpoint.headers, req, signal) }, baseUrl: endpoint.baseUrl };
    if (isUrlTarget(id)) return { invoker: { invoke: (req, signal) => this.call(id, {}, req, signal) } };
    return undefined;
  }

  private async call(baseUrl: string, extra: Record<string, string>, req: InvokeRequest, signal?: AbortSignal): Promise<InvokeResponse> {
    const url = new URL(baseUrl);
    const base = url.pathname === '/' ? '' : url.pathname.replace(/\/$/, '');
    const res = await this.agent.request({
      origin: url.origin,
      method: req.verb,
      path: requestPath(base, req.method, req.query),
      headers: requestHeaders(req, extra),
      body: req.body,
      signal,
    });
    return responseOf(res);
  }

  close(): Promise<void> {
    return this.agent.close();
  }
}
