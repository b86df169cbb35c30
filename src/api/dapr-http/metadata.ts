// Metadata, health and shutdown routes (daprd's metadata.go, healthz.go, shutdown.go).
import type { Core } from '../../core';
import type { MetadataResult } from '../../core/metadata';
import type { Endpoint } from './endpoint';
import { noContent, queryParam, rawBody, sendJson } from './request';

export function metadataEndpoints(core: Core): Endpoint[] {
  const md = core.metadata;
  return [
    {
      methods: ['GET'],
      url: '/v1.0/metadata',
      name: 'GetMetadata',
      handler: async (_req, reply) => sendJson(reply, 200, JSON.stringify(metadataBody(md.get()))),
    },
    {
      methods: ['PUT'],
      url: '/v1.0/metadata/:key',
      name: 'PutMetadata',
      handler: async (req, reply) => {
        md.set((req.params as { key: string }).key, rawBody(req).toString('utf8'));
        return noContent(reply);
      },
    },
    {
      methods: ['GET'],
      url: '/v1.0/healthz',
      name: 'Healthz',
      handler: async (req, reply) => {
        md.checkHealth(queryParam(req, 'appid'));
        return noContent(reply);
      },
    },
    {
      methods: ['GET'],
      url: '/v1.0/healthz/outbound',
      name: 'HealthzOutbound',
      handler: async (_req, reply) => {
        md.checkOutboundHealth();
        return noContent(reply);
      },
    },
    {
      methods: ['POST'],
      url: '/v1.0/shutdown',
      name: 'Shutdown',
      handler: async (_req, reply) => {
        noContent(reply);
        md.shutdown(); // starts on the next tick, after the 204 is written
        return reply;
      },
    },
  ];
}

/**
 * daprd's metadataResponse, encoded by encoding/json with `omitempty`: empty strings, lists and
 * maps are left out; appConnectionProperties and actorRuntime are structs, so always present.
 */
export function metadataBody(m: MetadataResult): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (m.id) out.id = m.id;
  if (m.runtimeVersion) out.runtimeVersion = m.runtimeVersion;
  if (m.enabledFeatures.length > 0) out.enabledFeatures = m.enabledFeatures;
  if (m.components.length > 0) out.components = m.components.map((c) => omitEmpty({ ...c }));
  if (Object.keys(m.extended).length > 0) out.extended = m.extended;
  if (m.subscriptions.length > 0) out.subscriptions = m.subscriptions;
  if (m.httpEndpoints.length > 0) out.httpEndpoints = m.httpEndpoints;
  const app = m.appConnectionProperties;
  out.appConnectionProperties = omitEmpty({
    port: app?.port,
    protocol: app?.protocol,
    channelAddress: app?.channelAddress,
    maxConcurrency: app?.maxConcurrency,
  });
  // No actor runtime in this sidecar: daprd reports it as disabled.
  out.actorRuntime = { runtimeStatus: 'DISABLED', hostReady: false };
  // This runtime's own addition: the mesh proxy (listeners, routes, clusters), when configured.
  if (m.meshProxy !== undefined) out.meshProxy = m.meshProxy;
  return out;
}

function omitEmpty(o: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) {
    if (v === undefined || v === null || v === '' || v === 0 || (Array.isArray(v) && v.length === 0)) continue;
    out[k] = v;
  }
  return out;
}
