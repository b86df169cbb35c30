// The headers an invocation carries to the target, as daprd treats them: the caller's headers
// minus the ones that belong to one hop (or to the Dapr API itself), plus the ones daprd adds:
// dapr-caller-app-id / dapr-callee-app-id, a W3C traceparent, and X-Forwarded-* / Forwarded on
// the way to another host.
import { currentTrace, isTraceparent, newTraceparent, type TraceContext } from '../trace';
import { hostname, networkInterfaces } from 'node:os';
import type { Headers } from './types';

/** Connection-level headers (RFC 9110 §7.6.1) and ones the next hop computes for itself. */
export const HOP_BY_HOP = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer',
  'host', 'content-length', 'http2-settings', 'expect',
]);

/** Used by the Dapr API only: the target app id and the caller's API token never travel on. */
const DAPR_API_ONLY = new Set(['dapr-app-id', 'dapr-api-token']);

/** The caller's headers that go to the target (content-type travels as its own field); fresh arrays. */
export function forwardedHeaders(h: Headers): Headers {
  const out: Headers = {};
  for (const k in h) {
    const name = k.toLowerCase();
    if (HOP_BY_HOP.has(name) || DAPR_API_ONLY.has(name) || name === 'content-type' || name.startsWith(':')) continue;
    const v = h[k]!;
    const had = out[name];
    out[name] = had ? had.concat(v) : v.slice();
  }
  return out;
}

/**
 * The trace context the target gets: with tracing on, the current span's (the API call's); else the
 * caller's traceparent when it is a valid one (tracestate goes with it); else a new trace.
 */
export function withTraceContext(h: Headers): Headers {
  const current = currentTrace();
  if (current) return withTrace(h, current);
  const tp = h.traceparent?.[0];
  if (isTraceparent(tp)) return h;
  const { tracestate: _dropped, ...rest } = h;
  return { ...rest, traceparent: [newTraceparent()] };
}

/** The headers with traceparent/tracestate replaced by `t`. */
export function withTrace(h: Headers, t: TraceContext): Headers {
  const { traceparent: _tp, tracestate: _ts, ...rest } = h;
  return t.tracestate ? { ...rest, traceparent: [t.traceparent], tracestate: [t.tracestate] } : { ...rest, traceparent: [t.traceparent] };
}

/**
 * dapr-caller-app-id / dapr-callee-app-id (and, towards another sidecar, dapr-caller-namespace when
 * this sidecar has one), set by the calling sidecar whatever the caller sent: the callee's access
 * control reads them.
 */
export function withAppIds(h: Headers, caller: string, callee: string, namespace = ''): Headers {
  return setAppIds({ ...h }, caller, callee, namespace);
}

/** withAppIds on a headers object of the caller's own (one the core just built): no copy. */
function setAppIds(out: Headers, caller: string, callee: string, namespace: string): Headers {
  delete out['dapr-caller-namespace'];
  delete out['dapr-caller-app-id'];
  delete out['dapr-callee-app-id'];
  out['dapr-caller-app-id'] = [caller];
  out['dapr-callee-app-id'] = [callee];
  if (namespace) out['dapr-caller-namespace'] = [namespace];
  return out;
}

/**
 * What an invocation carries to its target, built in one fresh object (four copies of the headers
 * per call showed on the profile): the forwarded headers and the trace context, then for an app
 * (not an HTTPEndpoint) the app ids, and towards another sidecar the X-Forwarded-* headers.
 */
export function invocationHeaders(h: Headers, ids?: { caller: string; callee: string; namespace?: string }, forwarded = false): Headers {
  const out = forwardedHeaders(h);
  const current = currentTrace();
  if (current) setTrace(out, current);
  else if (!isTraceparent(out.traceparent?.[0])) setTrace(out, { traceparent: newTraceparent() });
  if (ids) setAppIds(out, ids.caller, ids.callee, ids.namespace ?? '');
  if (forwarded) addForwarded(out);
  return out;
}

/** withTrace in place; no tracestate in `t` drops the caller's. */
function setTrace(out: Headers, t: TraceContext): void {
  delete out.traceparent;
  delete out.tracestate;
  out.traceparent = [t.traceparent];
  if (t.tracestate) out.tracestate = [t.tracestate];
}

let host: { address: string; name: string } | undefined;

/** DAPR_HOST_IP, else the first non-internal IPv4 address (daprd's utils.GetHostAddress). */
function hostIdentity(): { address: string; name: string } {
  if (host) return host;
  let address = process.env.DAPR_HOST_IP ?? '';
  if (!address) {
    for (const list of Object.values(networkInterfaces())) {
      const v4 = list?.find((i) => i.family === 'IPv4' && !i.internal);
      if (v4) {
        address = v4.address;
        break;
      }
    }
  }
  host = { address, name: hostname() };
  return host;
}

/** X-Forwarded-For / X-Forwarded-Host / Forwarded, appended as daprd does for a remote call. */
export function withForwarded(h: Headers): Headers {
  const out: Headers = {};
  for (const k in h) out[k] = h[k]!.slice();
  return addForwarded(out);
}

function addForwarded(out: Headers): Headers {
  const { address, name } = hostIdentity();
  const add = (k: string, v: string) => {
    const had = out[k];
    if (had) had.push(v);
    else out[k] = [v];
  };
  let forwarded = '';
  if (address) {
    add('x-forwarded-for', address);
    forwarded += `for=${address};by=${address};`;
  }
  if (name) {
    add('x-forwarded-host', name);
    forwarded += `host=${name}`;
  }
  add('forwarded', forwarded);
  return out;
}
