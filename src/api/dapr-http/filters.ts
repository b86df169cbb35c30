// The filter chain on the Dapr HTTP server: onRequest runs first among fastify's hooks (before body
// parsing, so a local reply such as a 429 costs no body read) and onResponse once the answer is
// written or the client went away.
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteHandlerMethod } from 'fastify';
import type { FilterChain } from '../../mesh/chain';
import type { Api, Exchange } from '../../mesh/filter';

const EXCHANGE = Symbol('exchange');
type WithExchange = FastifyRequest & { [EXCHANGE]?: Exchange };

/** The exchange of a request (undefined when no filter applies), for error codes to be noted on it. */
export const exchangeOf = (req: FastifyRequest): Exchange | undefined => (req as WithExchange)[EXCHANGE];

/** Status given to an exchange whose client closed the connection before the answer was sent. */
export const CLIENT_CLOSED = 499;

export function installFilterChain(app: FastifyInstance, chain: FilterChain | undefined, api: Api = 'dapr-http'): void {
  if (!chain || chain.isEmpty(api)) return;
  const complete = (req: FastifyRequest, status: number, responseBytes: number) => {
    const ex = exchangeOf(req);
    if (!ex || ex.status !== undefined) return;
    ex.status = status;
    ex.responseBytes = responseBytes;
    chain.response(ex);
  };

  // Handlers run through the exchange's context when a filter set one (tracing's current span).
  app.addHook('onRoute', (route) => {
    route.handler = inExchangeContext(route.handler);
  });
  app.addHook('onRequest', async (req, reply) => {
    const q = req.url.indexOf('?');
    const length = Number(req.headers['content-length']);
    const ex: Exchange = {
      api,
      protocol: 'http',
      verb: req.method,
      route: req.is404 ? '' : (req.routeOptions.url ?? ''),
      operation: (req.routeOptions.config as { name?: string } | undefined)?.name,
      path: q < 0 ? req.url : req.url.slice(0, q),
      headers: req.headers,
      remoteAddress: req.socket.remoteAddress ?? '',
      streaming: false,
      startNs: process.hrtime.bigint(),
      requestBytes: Number.isFinite(length) ? length : 0,
      attrs: new Map(),
    };
    (req as WithExchange)[EXCHANGE] = ex;
    const verdict = await chain.request(ex);
    if (!verdict) return;
    if (verdict.http.headers) reply.headers(verdict.http.headers);
    return reply.code(verdict.http.status).type(verdict.http.contentType ?? 'application/json').send(verdict.http.body);
  });
  app.addHook('onResponse', async (req, reply) => {
    complete(req, reply.statusCode, Number(reply.getHeader('content-length')) || 0);
  });
  app.addHook('onRequestAbort', async (req) => {
    complete(req, CLIENT_CLOSED, 0);
  });
}

/** A handler that runs through its exchange's `run` (for handlers fastify's onRoute does not see, e.g. not-found). */
export function inExchangeContext<H extends RouteHandlerMethod>(handler: H): H {
  return function (this: FastifyInstance, req: FastifyRequest, reply: FastifyReply) {
    const run = exchangeOf(req)?.run;
    return run ? run(() => handler.call(this, req, reply)) : handler.call(this, req, reply);
  } as H;
}
