// The Dapr HTTP API server (daprd's pkg/api/http/server.go): a fastify instance, not yet listening.
// Server-wide rules live here: body limit, raw bodies for every content type (streamed for
// invocation), path cleaning, the invoke fallback for unmatched routes and the single error handler.
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import type { Logger } from 'pino';
import type { Core } from '../../core';
import type { FilterChain } from '../../mesh/chain';
import { readBody } from './body';
import { goClientError } from './client-error';
import { sendError } from './errors';
import { inExchangeContext, installFilterChain } from './filters';
import { applyHttpLimits, type HttpLimits, httpServerOptions } from './limits';
import { invokeHandler } from './invoke';
import { daprHttpEndpoints } from './routes';
import { answerPlainHttp, type ApiTls, httpsOptions } from '../../security/tls';

export interface DaprHttpOptions {
  /** Request body limit in bytes (--max-body-size). */
  maxBodySize: number;
  logger?: Logger;
  /** The filters every request passes through (metrics, tracing, API logging, limits). */
  chain?: FilterChain;
  /** Header size, slow-client timeouts and the connection cap (node's defaults when absent). */
  limits?: HttpLimits;
  /** HTTPS (--api-tls-*): the server is node's https server, with the same limits. */
  tls?: ApiTls;
}

/** type/subtype[;params]: what fastify accepts before it will hand a body to a parser. */
const MEDIA_TYPE = /^\s*[\w!#$%&'*+.^`|~-]+\/[\w!#$%&'*+.^`|~-]+\s*(;|$)/;

/** State keys can be long; find-my-way's default (100) would send longer ones to the fallback. */
const MAX_PARAM_LENGTH = 64 * 1024;

export function buildDaprHttpServer(core: Core, opts: DaprHttpOptions): FastifyInstance {
  const { maxBodySize } = opts;
  const app = Fastify({
    loggerInstance: opts.logger as FastifyBaseLogger | undefined,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: maxBodySize, // readBody enforces it; this guards fastify's own parsers
    // daprd answers HEAD on a GET route through the invoke fallback, not as GET.
    exposeHeadRoutes: false,
    routerOptions: { ignoreTrailingSlash: true, ignoreDuplicateSlashes: true, maxParamLength: MAX_PARAM_LENGTH },
    frameworkErrors: (err, _req, reply) => {
      sendError(reply, err, maxBodySize);
    },
    clientErrorHandler: goClientError,
    ...(opts.tls ? { https: { ...(opts.limits && httpServerOptions(opts.limits)), ...httpsOptions(opts.tls) } } : opts.limits && { http: httpServerOptions(opts.limits) }),
  });
  if (opts.limits) applyHttpLimits(app.server, opts.limits);
  if (opts.tls) answerPlainHttp(app.server);

  installFilterChain(app, opts.chain);

  // Every body is kept as raw bytes: state values and metadata values need them; handlers parse
  // JSON themselves so malformed JSON gets daprd's error. Invocation (its routes and the fallback)
  // streams the body to the target instead: the parser leaves it unread.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (req, payload, done) => {
    if (req.is404 || (req.routeOptions.config as { streamBody?: boolean }).streamBody) return done(null, undefined);
    readBody(payload, maxBodySize).then((body) => done(null, body), done);
  });
  // daprd ignores a malformed Content-Type on these routes; fastify would answer 415 before any
  // parser runs, so such a header is dropped and the body is read as raw bytes.
  app.addHook('onRequest', (req, _reply, done) => {
    const ct = req.headers['content-type'];
    if (ct !== undefined && !MEDIA_TYPE.test(ct)) delete req.headers['content-type'];
    done();
  });

  app.setErrorHandler((err, _req, reply) => sendError(reply, err, maxBodySize));
  app.setNotFoundHandler(inExchangeContext(invokeHandler(core, maxBodySize)));

  for (const e of daprHttpEndpoints(core, maxBodySize)) {
    app.route({ method: e.methods, url: e.url, handler: e.handler, config: { name: e.name, streamBody: e.streamBody } });
  }
  return app;
}
