// Service invocation across two sidecars with the real @dapr/dapr SDK, target app an HTTP
// DaprServer: caller app A's DaprClients (over HTTP and over gRPC) on sidecar 1 call app B, whose
// methods a DaprServer registers with server.invoker.listen behind sidecar 2 (a second sidecar and
// DaprServer with the same app id join later). The cases are compat-tests/helpers/invoke.ts'
// crossSidecarCases; this file says how an HTTP app answers them.
import { type DaprServer, HttpMethod } from '@dapr/dapr';
import { type CrossTarget, crossSidecarCases, ECHO_VERBS, sha256, type TargetCalls } from '../helpers/invoke';

/** What the SDK's HTTP listen callbacks get (its body is JSON.stringify of what express parsed). */
interface Invocation {
  body?: string;
  query?: string;
  metadata?: { contentType?: string };
  headers?: object;
}

/** The few express calls used on the DaprServer's own app. */
interface ExpressRequest {
  body: unknown;
  headers: Record<string, unknown>;
  originalUrl: string;
}
interface ExpressResponse {
  status(code: number): ExpressResponse;
  type(t: string): ExpressResponse;
  send(body: string): void;
  json(body: unknown): void;
}
interface ExpressApp {
  post(path: string, handler: (req: ExpressRequest, res: ExpressResponse) => void): void;
}

const queryOf = (url = ''): string => url.split('?')[1] ?? '';

function httpInstance(name: string, calls: TargetCalls) {
  const record = (method: string, verb: string, query: string | undefined, contentType: string | undefined, headers: object | undefined, received: unknown) => {
    calls.add({ instance: name, method, verb, query: queryOf(query), contentType: contentType ?? '', headers: (headers ?? {}) as Record<string, unknown>, received });
    return received;
  };
  const fromSdk = (method: string, verb: string, d: Invocation) => record(method, verb, d.query, d.metadata?.contentType, d.headers, d.body ? JSON.parse(d.body) : null);
  const fromExpress = (method: string, req: ExpressRequest) => record(method, 'POST', req.originalUrl, req.headers['content-type'] as string, req.headers, req.body);
  return {
    register: async (server: DaprServer) => {
      for (const verb of ECHO_VERBS) {
        await server.invoker.listen('echo', async (d) => ({ instance: name, verb, received: fromSdk('echo', verb, d) }), { method: verb as HttpMethod });
      }
      await server.invoker.listen(
        'big',
        async (d) => {
          const text = JSON.parse(d.body ?? '""') as string;
          return { length: text.length, sha256: sha256(text), echo: text };
        },
        { method: HttpMethod.POST },
      );
      await server.invoker.listen('hold', async (d) => calls.hold(name, (fromSdk('hold', 'POST', d) as { key: string }).key), { method: HttpMethod.POST });
      // The SDK's listen callbacks cannot answer a status: these are routes of the DaprServer's own express app.
      const app = server.daprServer.getServer() as ExpressApp;
      app.post('/fail', (req, res) => {
        const { fail } = fromExpress('fail', req) as { fail: number };
        res.status(fail).type('text/plain').send(`failed with ${fail}`);
      });
      app.post('/flaky', (req, res) => {
        const { key } = fromExpress('flaky', req) as { key: string };
        const attempts = calls.attempt(key);
        if (attempts === 1) res.status(500).type('text/plain').send('the first call fails');
        else res.json({ key, attempts });
      });
    },
  };
}

const target: CrossTarget = {
  protocol: 'http',
  instance: httpInstance,
  // The HTTP API passes the answer on as it is; InvokeService fails with daprd's CodeFromHTTPStatus
  // code and Go's text for the status (the body goes in an ErrorInfo the SDK does not show).
  failures: [
    { fail: 404, http: 404, httpBody: 'failed with 404', grpc: 5, grpcMessage: 'Not Found' }, // NOT_FOUND
    { fail: 400, http: 400, httpBody: 'failed with 400', grpc: 13, grpcMessage: 'Bad Request' }, // INTERNAL
    { fail: 418, http: 418, httpBody: 'failed with 418', grpc: 2, grpcMessage: "I'm a teapot" }, // UNKNOWN
    { fail: 503, http: 503, httpBody: 'failed with 503', grpc: 14, grpcMessage: 'Service Unavailable' }, // UNAVAILABLE
  ],
};

describe('invocation across two sidecars: DaprClient → sidecar 1 → sidecar 2 → DaprServer HTTP app', () => {
  crossSidecarCases(target);
});
