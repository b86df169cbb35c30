// A function as a service-invocation target: /v1.0/invoke/<functionId>/method/<m> (and the gRPC
// InvokeService of both APIs) reaches the local function with the method as its path, the caller's
// verb, query, headers and body; its answer comes back as the app's would. A failed call rejects,
// and the core reports it as any unreachable target (ERR_DIRECT_INVOKE with the reason).
import { Readable } from 'node:stream';
import type { Headers, InvokeRequest, InvokeResponse, Invoker } from '../core/invoke/types';
import type { FunctionHost } from './types';

export function functionInvoker(host: FunctionHost, id: string): Invoker {
  return {
    async invoke(req: InvokeRequest): Promise<InvokeResponse> {
      const body = Buffer.concat(await req.body.toArray());
      const headers: Array<[string, string]> = [];
      for (const [k, vs] of Object.entries(req.headers)) for (const v of vs) headers.push([k.toLowerCase(), v]);
      if (req.contentType && !req.headers['content-type']) headers.push(['content-type', req.contentType]);
      const path = `/${req.method}${req.query ? `?${req.query}` : ''}`;
      const answer = await host.call(id, { method: req.verb || 'POST', path, headers, body });
      const out: Headers = {};
      for (const [k, v] of answer.headers) (out[k.toLowerCase()] ??= []).push(v);
      const contentType = out['content-type']?.[0] ?? 'text/plain; charset=utf-8';
      return { status: answer.status || 200, headers: out, contentType, body: Readable.from(answer.body.length > 0 ? [answer.body] : []) };
    },
  };
}

/** The lookup the invocation core asks before it picks an app: an Invoker for installed function ids. */
export function functionLookup(host: FunctionHost): (appId: string) => Invoker | undefined {
  const invokers = new Map<string, Invoker>();
  return (appId) => {
    if (!host.has(appId)) return undefined;
    let inv = invokers.get(appId);
    if (!inv) invokers.set(appId, (inv = functionInvoker(host, appId)));
    return inv;
  };
}
