// nameresolution.kubernetes: no lookup at all, the DNS name of the target's dapr Service
// (contrib's nameresolution/kubernetes): "<id>-dapr.<namespace>.svc.<clusterDomain>:<port>", where
// port is this sidecar's own internal port (every sidecar of a cluster uses the same, 50002).
// `template` replaces the whole form with a Go-template over {ID, Namespace, Port, Data}.
import type { ResolvedAddress } from '../../../core/invoke/types';
import { splitHostPort } from '../address';
import { type NameResolver, type ResolveRequest, type ResolverMetadata, stringConfig } from '../types';

export const DEFAULT_CLUSTER_DOMAIN = 'cluster.local';

type Part = string | { field: 'ID' | 'Namespace' | 'Port' } | { data: string };

/** Parses the {{.Field}} / {{.Data.key}} subset of text/template the resolver's fields allow. */
export function parseTemplate(template: string): Part[] {
  const parts: Part[] = [];
  const re = /\{\{-?\s*(.*?)\s*-?\}\}/g;
  let last = 0;
  for (const m of template.matchAll(re)) {
    parts.push(template.slice(last, m.index));
    last = m.index! + m[0].length;
    const expr = m[1]!;
    const field = /^\.(ID|Namespace|Port)$/.exec(expr);
    const data = /^\.Data\.([A-Za-z_][A-Za-z0-9_]*)$/.exec(expr);
    if (field) parts.push({ field: field[1] as 'ID' | 'Namespace' | 'Port' });
    else if (data) parts.push({ data: data[1]! });
    else throw new Error(`nameResolution kubernetes: unsupported template action {{${expr}}} (use .ID, .Namespace, .Port or .Data.<key>)`);
  }
  parts.push(template.slice(last));
  return parts.filter((p) => p !== '');
}

export class KubernetesResolver implements NameResolver {
  private template: Part[] = [];

  async init(md: ResolverMetadata): Promise<void> {
    const cfg = stringConfig(md.configuration, 'kubernetes');
    const clusterDomain = cfg.clusterDomain ?? '';
    const template = cfg.template ?? '';
    if (clusterDomain && template) throw new Error('nameResolution kubernetes: clusterDomain and template are mutually exclusive');
    this.template = template
      ? parseTemplate(template)
      : parseTemplate(`{{.ID}}-dapr.{{.Namespace}}.svc.${clusterDomain || DEFAULT_CLUSTER_DOMAIN}:{{.Port}}`);
  }

  async resolve(req: ResolveRequest): Promise<ResolvedAddress> {
    const namespace = req.namespace || 'default';
    const text = this.template
      .map((p) => {
        if (typeof p === 'string') return p;
        if ('data' in p) return req.data?.[p.data] ?? '';
        return p.field === 'ID' ? req.id : p.field === 'Namespace' ? namespace : String(req.port);
      })
      .join('');
    return splitHostPort(text);
  }

  async close(): Promise<void> {}
}
