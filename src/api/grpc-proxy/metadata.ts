// The metadata a proxied call carries on, as daprd's proxy director sets it: dapr-app-id stays (the
// next sidecar routes on it); the caller's API token never leaves this sidecar; the calling sidecar
// stamps dapr-caller-app-id / dapr-caller-namespace / dapr-callee-app-id; the app gets
// APP_API_TOKEN as dapr-api-token.
import { withTraceContext } from '../../core/invoke/headers';
import type { HeaderMap } from './headers';

const CALLER = 'dapr-caller-app-id';
const CALLER_NS = 'dapr-caller-namespace';
const CALLEE = 'dapr-callee-app-id';
const TOKEN = 'dapr-api-token';

/** Towards another sidecar: this sidecar's identity and the target's id, one trace context. */
export function toSidecar(h: HeaderMap, self: { appId: string; namespace: string }, calleeId: string): HeaderMap {
  const { [TOKEN]: _token, 'grpc-trace-bin': _bin, ...rest } = h;
  // daprd puts its own span's context in place of the caller's; a valid one is continued here.
  const out = withTraceContext(rest);
  out[CALLER] = [self.appId];
  if (self.namespace) out[CALLER_NS] = [self.namespace];
  else delete out[CALLER_NS];
  out[CALLEE] = [calleeId];
  return out;
}

/**
 * Towards this sidecar's app. From the app itself the caller is this app; from another sidecar
 * (no mTLS identity to check) the last value of each identity header is the calling sidecar's own.
 */
export function toApp(h: HeaderMap, o: { from: 'app' | 'sidecar'; appId: string; namespace: string; appApiToken?: string }): HeaderMap {
  const { [TOKEN]: _token, ...out } = h;
  if (o.from === 'app') {
    out[CALLER] = [o.appId];
    if (o.namespace) out[CALLER_NS] = [o.namespace];
    out[CALLEE] = [o.appId];
  } else {
    for (const k of [CALLER, CALLER_NS, CALLEE]) if ((out[k]?.length ?? 0) > 1) out[k] = out[k]!.slice(-1);
  }
  if (o.appApiToken) out[TOKEN] = [o.appApiToken];
  return out;
}
