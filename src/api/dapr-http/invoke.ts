// Service invocation face. daprd registers invocation as the router's fallback (NotFound and
// MethodNotAllowed), so unknown paths and wrong verbs land here too. Invocation itself is issue #4;
// until then every request gets daprd's answer for a request without a usable app id.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Core } from '../../core';
import { RuntimeError } from '../../errors/runtime-error';
import type { Endpoint, Handler } from './endpoint';

export function invokeFallback(_core: Core): Handler {
  return async (_req: FastifyRequest, _reply: FastifyReply) => {
    throw new RuntimeError('DIRECT_INVOKE_NO_APP_ID');
  };
}

export function invokeEndpoints(core: Core): Endpoint[] {
  return [
    {
      methods: ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS'],
      url: '/v1.0/invoke/:appId/method/*',
      name: 'InvokeService',
      handler: invokeFallback(core),
    },
  ];
}
