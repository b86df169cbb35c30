// dapr_runtime_acl_*: one count per access control decision, by which policy decided (the app's own
// or the global default) and its outcome, labelled with the caller as daprd labels it (app id,
// trust domain, namespace of its SPIFFE ID; empty when the caller is unknown).
import type { AclObserver } from '../../core/invoke/acl';
import type { MetricsRegistry } from './registry';

export function aclObserver(registry: MetricsRegistry): AclObserver {
  const { appAllowed, appBlocked, globalAllowed, globalBlocked } = registry.acl;
  return (d, caller) => {
    const counter = d.policy === 'app' ? (d.allowed ? appAllowed : appBlocked) : d.allowed ? globalAllowed : globalBlocked;
    counter.inc({ app_id: caller?.appId ?? '', trustDomain: caller?.trustDomain ?? '', namespace: caller?.namespace ?? '' });
  };
}
