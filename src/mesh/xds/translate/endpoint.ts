// ClusterLoadAssignment (EDS, or a STATIC/STRICT_DNS cluster's load_assignment) → the cluster's
// endpoints. Priority 0 only; endpoints Envoy would not send traffic to (UNHEALTHY, DRAINING,
// TIMEOUT) are left out, DEGRADED ones are kept (the proxy has no degraded tier).
import { hostPort, ignoredFields, type Pb, socketAddress, type Warn, wrapped } from './common';

export interface EndpointOut {
  address: string;
  weight: number;
}

const UNUSABLE = new Set(['UNHEALTHY', 'DRAINING', 'TIMEOUT']);

export function translateEndpoints(cla: Pb, where: string, warn: Warn): EndpointOut[] {
  ignoredFields(cla, ['cluster_name', 'endpoints', 'policy'], where, warn);
  if (cla.named_endpoints && Object.keys(cla.named_endpoints).length > 0) warn(`${where}: named_endpoints are not supported (ignored)`);
  const out: EndpointOut[] = [];
  let otherPriorities = 0;
  for (const [i, locality] of ((cla.endpoints ?? []) as Pb[]).entries()) {
    const lwhere = `${where}.endpoints[${i}]`;
    if (Number(locality.priority ?? 0) !== 0) {
      otherPriorities++;
      continue;
    }
    for (const [j, lb] of ((locality.lb_endpoints ?? []) as Pb[]).entries()) {
      const ewhere = `${lwhere}.lb_endpoints[${j}]`;
      if (lb.endpoint_name !== undefined) warn(`${ewhere}: endpoint_name is not supported (ignored)`);
      if (!lb.endpoint) continue;
      if (UNUSABLE.has(lb.health_status)) continue;
      const weight = wrapped<number>(lb.load_balancing_weight, 1)!;
      out.push({ address: hostPort(socketAddress(lb.endpoint.address, `${ewhere}.endpoint.address`)), weight: Math.max(1, weight) });
    }
  }
  if (otherPriorities > 0) warn(`${where}: ${otherPriorities} locality group(s) of priority > 0 ignored (no failover tiers)`);
  return out;
}
