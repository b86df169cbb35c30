// The one place that relies on grpc-js internals (pinned 1.14.7). grpc-js has no catch-all handler
// (Go's grpc.UnknownServiceHandler, which daprd's proxy uses), and it answers UNIMPLEMENTED for any
// path it has no handler for. Its Server binds the per-stream handler at bind time from the
// instance: `_setupHandlers` does http2Server.on('stream', (channelz ? this._channelzHandler :
// this._streamHandler).bind(this, interceptors)). Wrapping both methods on the instance before
// bindAsync lets a stream for an unregistered path be taken over before grpc-js answers it.
// grpc-js-hook.test.ts fails loudly if an upgrade changes any of this.
import type { IncomingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import * as grpc from '@grpc/grpc-js';

/** Takes a stream for an unregistered method (true), or leaves it to grpc-js's UNIMPLEMENTED (false). */
export type Divert = (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, rawHeaders: readonly string[]) => boolean;

type StreamHandler = (this: ServerInternals, extra: unknown, stream: ServerHttp2Stream, headers: IncomingHttpHeaders, flags?: number, rawHeaders?: string[]) => void;

interface ServerInternals {
  handlers: Map<string, unknown>;
  _streamHandler: StreamHandler;
  _channelzHandler: StreamHandler;
  /** Counts the stream for grpc.max_connection_idle_ms, as grpc-js does for its own. */
  onStreamOpened?(stream: ServerHttp2Stream): void;
}

const HANDLERS = ['_streamHandler', '_channelzHandler'] as const;

/** Why the hook cannot work with this grpc-js, or undefined when it can. */
export function hookUnsupported(): string | undefined {
  const proto = grpc.Server.prototype as unknown as Record<string, unknown>;
  for (const name of [...HANDLERS, '_setupHandlers']) if (typeof proto[name] !== 'function') return `grpc-js Server has no ${name}()`;
  const setup = String(proto._setupHandlers);
  for (const name of HANDLERS) if (!setup.includes(`this.${name}`)) return `grpc-js Server._setupHandlers no longer binds this.${name}`;
  const probe = new grpc.Server() as unknown as Partial<ServerInternals>;
  if (!(probe.handlers instanceof Map)) return 'grpc-js Server has no handlers map';
  return undefined;
}

/** Raw header pairs from a header object, for a grpc-js that does not pass them on. */
function rawOf(headers: IncomingHttpHeaders): string[] {
  const raw: string[] = [];
  for (const [k, v] of Object.entries(headers)) for (const one of Array.isArray(v) ? v : [v]) if (one !== undefined) raw.push(k, String(one));
  return raw;
}

/**
 * Offers every stream to `take` before grpc-js sees it; a stream it takes (true) is its own to
 * answer. The last screen installed runs first. Call it before the server's first bindAsync.
 */
export function screenStreams(server: grpc.Server, take: Divert): void {
  const why = hookUnsupported();
  if (why) throw new Error(`cannot hook into @grpc/grpc-js: ${why}`);
  const internals = server as unknown as ServerInternals;
  for (const name of HANDLERS) {
    const original = internals[name];
    internals[name] = function (this: ServerInternals, extra, stream, headers, flags, rawHeaders) {
      if (take(stream, headers, rawHeaders ?? rawOf(headers))) return;
      original.call(this, extra, stream, headers, flags, rawHeaders);
    };
  }
}

/**
 * Offers every stream whose path has no registered handler (and whose content-type is gRPC's:
 * grpc-js answers 415 to others) to `divert`. Call it before the server's first bindAsync.
 */
export function divertUnknownMethods(server: grpc.Server, divert: Divert): void {
  const why = hookUnsupported();
  if (why) throw new Error(`gRPC proxying cannot hook into @grpc/grpc-js: ${why}`);
  const internals = server as unknown as ServerInternals;
  screenStreams(server, (stream, headers, raw) => {
    const path = headers[':path'];
    const type = headers['content-type'];
    if (typeof path !== 'string' || internals.handlers.has(path) || typeof type !== 'string' || !type.startsWith('application/grpc')) return false;
    if (!divert(stream, headers, raw)) return false;
    internals.onStreamOpened?.(stream); // counted for grpc.max_connection_idle_ms, as grpc-js counts its own
    return true;
  });
}

interface SessionOptionsInternals {
  /** grpc-js 1.14: the options every http2 server it creates gets. */
  commonServerOptions?: { settings?: Record<string, number> };
}

/** The SETTINGS_MAX_HEADER_LIST_SIZE the server's http2 sessions advertise and enforce. Before bindAsync. */
export function setMaxHeaderListSize(server: grpc.Server, bytes: number): void {
  const o = (server as unknown as SessionOptionsInternals).commonServerOptions;
  if (typeof o !== 'object' || o === null) throw new Error('@grpc/grpc-js Server keeps no commonServerOptions any more; the header list size cannot be set');
  o.settings = { ...o.settings, maxHeaderListSize: bytes };
}
