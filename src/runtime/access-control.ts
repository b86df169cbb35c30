// Wiring for service invocation access control: the Configuration's spec.accessControl becomes the
// core's AccessControl, checked where calls from other sidecars reach this app — the internal
// server (CallLocal/CallLocalStream) and the gRPC proxy (calls delivered to this app). On a TLS
// connection the caller is its verified certificate's SPIFFE ID, never the headers it sent.
import { TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import type { AccessControlConfig } from '../config/access-control';
import type { Core } from '../core';
import { AccessControl, type AclObserver } from '../core/invoke/acl';
import type { GrpcProxyOptions } from '../api/grpc-proxy/proxy';
import type { SidecarToSidecarOptions } from './internal';
import { peerIdentity } from '../security/mtls';

/** daprd's Protocol.IsHTTP: the app protocols whose calls carry HTTP verbs and case-insensitive paths. */
const HTTP_APPS = new Set(['http', 'https', 'h2c']);

export interface AccessControlHooks {
  internal?: SidecarToSidecarOptions['authorize'];
  proxy?: GrpcProxyOptions['authorize'];
}

/** spec.accessControl as the core checks it (undefined: calls from other sidecars all allowed). */
export function accessControlOf(spec: AccessControlConfig | undefined, appProtocol: string, observe?: AclObserver): AccessControl | undefined {
  return AccessControl.from(spec, HTTP_APPS.has(appProtocol.toLowerCase()), observe);
}

/**
 * Sets the core's access control from spec.accessControl and returns the checks for the two entry
 * points. Without a spec there are none, unless `live` (hot reload may bring one later).
 */
export function accessControlHooks(core: Core, spec: AccessControlConfig | undefined, appProtocol: string, log: Logger, live = false, observe?: AclObserver): AccessControlHooks {
  const acl = accessControlOf(spec, appProtocol, observe);
  core.invoke.setAccessControl(acl);
  if (!acl && !live) return {};
  if (acl) log.info(`access control: default action ${spec!.defaultAction || '(unset)'}, ${spec!.policies?.length ?? 0} app policies, trust domain ${acl.trustDomain}`);
  return {
    internal: (req) => core.invoke.authorize(req),
    proxy: ({ method, headers, from, socket }) => {
      // From another sidecar over TLS: the certificate names the caller (the headers may say anything).
      if (from === 'sidecar' && socket instanceof TLSSocket) {
        const id = peerIdentity(socket);
        return core.invoke.authorize({ method, verb: 'NONE', headers: {}, callerIdentity: typeof id === 'string' ? undefined : id });
      }
      return core.invoke.authorize({ method, verb: 'NONE', headers });
    },
  };
}
