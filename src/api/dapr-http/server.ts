// The Dapr HTTP API server (daprd's pkg/api/http/server.go): a fastify instance, not yet listening.
// Server-wide rules live here: body limit, raw bodies for every content type, path cleaning, the
// invoke fallback for unmatched routes and the single error handler.
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import type { Logger } from 'pino';
import type { Core } from '../../core';
import { readBody } from './body';
import { sendError } from './errors';
import { invokeFallback } from './invoke';
import { daprHttpEndpoints } from './routes';

export interface DaprHttpOptions {
  /** Request body limit in bytes (--max-body-size). */
  maxBodySize: number;
  logger?: Logger;
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
  });

  // Every body is kept as raw bytes: state values, metadata values and (later) invoke payloads
  // need them; handlers parse JSON themselves so malformed JSON gets daprd's error.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_req, payload, done) => {
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
  app.setNotFoundHandler(invokeFallback(core));

  for (const e of daprHttpEndpoints(core)) {
    app.route({ method: e.methods, url: e.url, handler: e.handler, config: { name: e.name } });
  }
  return app;
}
