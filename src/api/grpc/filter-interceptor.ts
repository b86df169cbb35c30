// The filter chain on a gRPC server: one grpc-js server interceptor per server runs the chain's
// onRequest once the call's metadata arrives (before the handler starts) and onResponse when the
// final status goes out or the call is cancelled. Unary and streaming calls alike.
import * as grpc from '@grpc/grpc-js';
import type { FilterChain } from '../../mesh/chain';
import type { Api, Exchange } from '../../mesh/filter';

/** Serialized size of each message object the server decoded or encoded (see `measureMessages`). */
const sizes = new WeakMap<object, number>();
const sizeOf = (msg: unknown): number => (typeof msg === 'object' && msg !== null ? (sizes.get(msg) ?? 0) : 0);

/** A local reply's extra status metadata. */
function trailersOf(trailers: Record<string, string | Buffer> | undefined): grpc.Metadata | undefined {
  if (!trailers) return undefined;
  const md = new grpc.Metadata();
  for (const [k, v] of Object.entries(trailers)) md.set(k, v);
  return md;
}

/** The interceptors for a server of one API: none when no filter applies to it. */
export function filterInterceptors(chain: FilterChain | undefined, api: Api): grpc.ServerInterceptor[] {
  if (!chain || chain.isEmpty(api)) return [];
  return [filterInterceptor(chain, api)];
}

function filterInterceptor(chain: FilterChain, api: Api): grpc.ServerInterceptor {
  return (method, next) => {
    const ex: Exchange = {
      api,
      protocol: 'grpc',
      verb: 'POST',
      route: method.path,
      path: method.path,
      headers: {},
      remoteAddress: next.getConnectionInfo().remoteAddress ?? '',
      streaming: method.requestStream || method.responseStream,
      startNs: process.hrtime.bigint(),
      requestBytes: 0,
      responseBytes: 0,
      attrs: new Map(),
    };
    // The handler runs from these listener steps: a filter's context (a trace span) covers it.
    const inContext = (fn: () => void) => (ex.run ? ex.run(fn) : fn());
    let done = false;
    const finish = (code: number, details: string | undefined) => {
      if (done) return;
      done = true;
      ex.status = code;
      ex.message = details;
      chain.response(ex);
    };
    const call: grpc.ServerInterceptingCall = new grpc.ServerInterceptingCall(
      next,
      new grpc.ResponderBuilder()
        .withStart((start) =>
          start(
            new grpc.ServerListenerBuilder()
              .withOnReceiveMetadata((md, proceed) => {
                ex.headers = md.toHttp2Headers() as Exchange['headers'];
                chain.request(ex).then(
                  (verdict) => {
                    if (!verdict) return inContext(() => proceed(md));
                    call.sendStatus({ code: verdict.grpc.code, details: verdict.grpc.details, metadata: trailersOf(verdict.grpc.trailers) });
                  },
                  (e: unknown) => call.sendStatus({ code: grpc.status.INTERNAL, details: `filter failed: ${(e as Error)?.message ?? e}` }),
                );
              })
              .withOnReceiveMessage((msg, proceed) => {
                ex.requestBytes! += sizeOf(msg);
                inContext(() => proceed(msg));
              })
              .withOnReceiveHalfClose((proceed) => inContext(proceed))
              .withOnCancel(() => {
                // grpc-js reports a cancel after every call; only one that ended without a status counts.
                const deadline = next.getDeadline();
                const expired = deadline !== Infinity && new Date(deadline).getTime() <= Date.now();
                finish(expired ? grpc.status.DEADLINE_EXCEEDED : grpc.status.CANCELLED, expired ? 'Deadline exceeded' : 'Cancelled');
              })
              .build(),
          ),
        )
        .withSendMessage((msg, proceed) => {
          proceed(msg); // serializes synchronously (measureMessages records the size)
          ex.responseBytes! += sizeOf(msg);
        })
        .withSendStatus((status, proceed) => {
          finish(status.code, status.details);
          proceed(status);
        })
        .build(),
    );
    return call;
  };
}

/**
 * Makes `server.addService` record each message's encoded size as grpc-js decodes and encodes it,
 * so the filters get byte counts without serializing anything twice. Call before adding services.
 */
export function measureMessages(server: grpc.Server): void {
  const add = server.addService.bind(server);
  server.addService = (service, implementation) => {
    const measured: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
    for (const [name, def] of Object.entries(service)) {
      measured[name] = {
        ...def,
        requestDeserialize: (bytes: Buffer) => {
          const msg = def.requestDeserialize(bytes);
          if (typeof msg === 'object' && msg !== null) sizes.set(msg, bytes.length);
          return msg;
        },
        responseSerialize: (msg: unknown) => {
          const bytes = def.responseSerialize(msg);
          if (typeof msg === 'object' && msg !== null) sizes.set(msg, bytes.length);
          return bytes;
        },
      };
    }
    add(measured as grpc.ServiceDefinition, implementation);
  };
}

/** grpc.Server options plus the chain's interceptor (after those in `options`); measures messages when there is one. */
export function filteredServer(options: grpc.ServerOptions, chain: FilterChain | undefined, api: Api): grpc.Server {
  const interceptors = filterInterceptors(chain, api);
  if (interceptors.length === 0) return new grpc.Server(options);
  const server = new grpc.Server({ ...options, interceptors: [...(options.interceptors ?? []), ...interceptors] });
  measureMessages(server);
  return server;
}
