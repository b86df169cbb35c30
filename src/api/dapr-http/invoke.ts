// Service invocation face (daprd's pkg/api/http/directmessaging.go). daprd registers invocation as
// the router's fallback (NotFound and MethodNotAllowed), so unknown paths, wrong verbs and any path
// carrying dapr-app-id land here too. The request body is streamed to the target and the answer
// (status, headers, body) streamed back as the target gave it.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Core } from '../../core';
import { CallSignal } from '../../core/call-signal';
import { RuntimeError } from '../../errors/runtime-error';
import type { Endpoint, Handler } from './endpoint';
import { bufferedBody, invokeBody } from './invoke-body';
import { findTarget } from './invoke-target';

const splitUrl = (url: string): [path: string, query: string] => {
  const q = url.indexOf('?');
  return q < 0 ? [url, ''] : [url.slice(0, q), url.slice(q + 1)];
};

/** Answers that carry no body whatever the target streams. */
const bodiless = (verb: string, status: number) => verb === 'HEAD' || status === 204 || status === 304;

export function invokeHandler(core: Core, maxBodySize: number): Handler {
  return async (req: FastifyRequest, reply: FastifyReply) => {
    const [path, query] = splitUrl(req.raw.url ?? '/');
    const target = findTarget(path, req.headers);
    if (!target) throw new RuntimeError('DIRECT_INVOKE_NO_APP_ID');
    const body = Buffer.isBuffer(req.body) ? bufferedBody(req.body) : invokeBody(req.raw, maxBodySize);
    // The caller hung up: stop the call to the target.
    const abort = new CallSignal();
    reply.raw.once('close', () => {
      if (!reply.raw.writableFinished) abort.abort();
    });
    const verb = req.method.toUpperCase();
    let res;
    try {
      res = await core.invoke.invoke(
        { appId: target.appId, method: target.method, verb, query, headers: req.raw.headersDistinct as Record<string, string[]>, contentType: req.headers['content-type'] ?? '', body: body.stream, length: body.length },
        abort,
      );
    } catch (e) {
      if (body.tooLarge) throw new RuntimeError('BODY_TOO_LARGE', `limit is ${maxBodySize} bytes`);
      throw e;
    }
    reply.code(res.status);
    for (const [name, values] of Object.entries(res.headers)) reply.header(name, values.length === 1 ? values[0] : values);
    if (res.contentType) reply.header('content-type', res.contentType);
    if (bodiless(verb, res.status)) {
      if (res.whole === undefined) res.body.resume();
      return reply.send();
    }
    // A body read whole goes out as one buffer (with its Content-Length), not piped; without a
    // content type fastify would name one, so such an answer keeps the stream.
    if (res.whole !== undefined && res.contentType) return reply.send(res.whole);
    return reply.send(res.body);
  };
}

export function invokeEndpoints(core: Core, maxBodySize: number): Endpoint[] {
  return [
    {
      methods: ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS', 'TRACE'],
      url: '/v1.0/invoke/:appId/method/*',
      name: 'InvokeService',
      handler: invokeHandler(core, maxBodySize),
      streamBody: true,
    },
  ];
}
