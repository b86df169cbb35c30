// One place where anything thrown while serving a request becomes daprd's error envelope. Fastify's
// own errors (FST_*) are translated to Dapr codes so none of them leaks; anything else is daprd's
// generic 500 {"errorCode":"ERROR"} with the message only, never a stack.
import type { FastifyError, FastifyReply } from 'fastify';
import { isRuntimeError, RuntimeError } from '../../errors/runtime-error';
import { type HttpError, toHttp } from '../../errors/to-http';
import { exchangeOf } from './filters';

export function httpErrorOf(err: unknown, maxBodySize: number): HttpError {
  if (isRuntimeError(err)) return toHttp(err);
  const code = (err as FastifyError | undefined)?.code;
  if (typeof code === 'string' && code.startsWith('FST_')) {
    const fe = err as FastifyError;
    if (code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      return toHttp(new RuntimeError('BODY_TOO_LARGE', `limit is ${maxBodySize} bytes`));
    }
    if (code.startsWith('FST_ERR_CTP_')) return toHttp(new RuntimeError('BODY_READ', fe.message));
    if ((fe.statusCode ?? 500) < 500) return toHttp(new RuntimeError('BAD_REQUEST', fe.message));
  }
  return toHttp(err);
}

export function sendError(reply: FastifyReply, err: unknown, maxBodySize: number): FastifyReply {
  const { status, body } = httpErrorOf(err, maxBodySize);
  const ex = exchangeOf(reply.request);
  if (ex) {
    ex.errorCode = body.errorCode;
    ex.message = body.message; // the dashboard's recent errors
  }
  if (status >= 500 && !isRuntimeError(err)) reply.log.error({ err }, 'unexpected error serving a Dapr HTTP request');
  else reply.log.debug({ errorCode: body.errorCode }, body.message);
  return reply.code(status).header('content-type', 'application/json').send(Buffer.from(JSON.stringify(body)));
}
