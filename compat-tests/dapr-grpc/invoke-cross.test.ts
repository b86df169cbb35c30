// Service invocation across two sidecars with the real @dapr/dapr SDK, target app a gRPC
// DaprServer (AppCallback.OnInvoke): caller app A's DaprClients (over gRPC and over HTTP) on
// sidecar 1 call app B, whose methods a DaprServer registers with server.invoker.listen behind
// sidecar 2 (a second sidecar and DaprServer with the same app id join later). The cases are
// compat-tests/helpers/invoke.ts' crossSidecarCases; this file says how a gRPC app answers them.
import { Code, ConnectError } from '@connectrpc/connect';
import { type DaprServer, HttpMethod } from '@dapr/dapr';
import type { Http2Server, IncomingHttpHeaders } from 'node:http2';
import { type CrossTarget, crossSidecarCases, ECHO_VERBS, sha256, type TargetCalls } from '../helpers/invoke';

/** What the SDK's gRPC listen callbacks get: the data as text, http_extension.querystring, the content type. */
interface Invocation {
  body?: string;
  query?: string;
  metadata?: { contentType?: string };
}

const ON_INVOKE = '/dapr.proto.runtime.v1.AppCallback/OnInvoke';

function grpcInstance(name: string, calls: TargetCalls) {
  // The SDK hands OnInvoke's metadata to no callback: it is read where the app's HTTP/2 server
  // gets the call, which is before the callback runs (the calls of one instance come one by one).
  let metadata: IncomingHttpHeaders = {};
  const record = (method: string, verb: string, d: Invocation): unknown => {
    const contentType = d.metadata?.contentType ?? '';
    const body = d.body ?? '';
    const received = body === '' ? null : contentType.includes('json') ? JSON.parse(body) : body;
    calls.add({ instance: name, method, verb, query: d.query ?? '', contentType, headers: { ...metadata }, received });
    return received;
  };
  const post = { method: HttpMethod.POST };
  return {
    register: async (server: DaprServer) => {
      for (const verb of ECHO_VERBS) {
        await server.invoker.listen('echo', async (d) => ({ instance: name, verb, received: record('echo', verb, d) }), { method: verb as HttpMethod });
      }
      await server.invoker.listen('big', async (d) => ({ length: (d.body ?? '').length, sha256: sha256(d.body ?? ''), echo: d.body }), post);
      await server.invoker.listen('hold', async (d) => calls.hold(name, (record('hold', 'POST', d) as { key: string }).key), post);
      await server.invoker.listen(
        'fail',
        async (d) => {
          const { fail } = record('fail', 'POST', d) as { fail: Code };
          throw new ConnectError(`failed with ${Code[fail]}`, fail);
        },
        post,
      );
      await server.invoker.listen(
        'flaky',
        async (d) => {
          const { key } = record('flaky', 'POST', d) as { key: string };
          const attempts = calls.attempt(key);
          // A plain error: the SDK's server (connect) answers INTERNAL, which an HTTP caller sees as 500.
          if (attempts === 1) throw new Error('the first call fails');
          return { key, attempts };
        },
        post,
      );
    },
    started: (server: DaprServer) => {
      (server.daprServer.getServer() as Http2Server).on('stream', (_stream, headers) => {
        if (headers[':path'] === ON_INVOKE) metadata = headers;
      });
    },
  };
}

const target: CrossTarget = {
  protocol: 'grpc',
  instance: grpcInstance,
  // InvokeService fails with the app's status as it is; the HTTP API answers daprd's
  // HTTPStatusFromCode status with the status as JSON (protojson, empty fields left out).
  failures: (
    [
      [Code.NotFound, 404],
      [Code.InvalidArgument, 400],
      [Code.PermissionDenied, 403],
      [Code.ResourceExhausted, 429],
      [Code.Unavailable, 503],
    ] as const
  ).map(([code, http]) => ({
    fail: code,
    http,
    httpBody: JSON.stringify({ code, message: `failed with ${Code[code]}` }),
    grpc: code,
    grpcMessage: `failed with ${Code[code]}`,
  })),
};

describe('invocation across two sidecars: DaprClient → sidecar 1 → sidecar 2 → DaprServer gRPC app', () => {
  crossSidecarCases(target);
});
