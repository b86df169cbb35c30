// GetMetadata / SetMetadata / Shutdown: MetadataCore results as metadata.proto messages.
import type * as grpc from '@grpc/grpc-js';
import type { MetadataCore, MetadataResult } from '../../core/metadata';
import { unary } from './handlers';
import type * as M from './messages';

/** A subscription as the core lists it (the HTTP metadata shape). */
interface SubscriptionInfo {
  pubsubname?: string;
  topic?: string;
  metadata?: M.StringMap;
  rules?: { match?: string; path?: string }[];
  deadLetterTopic?: string;
  type?: string;
}

export function metadataResponse(md: MetadataResult) {
  const app = md.appConnectionProperties;
  return {
    id: md.id,
    active_actors_count: [],
    registered_components: md.components.map((c) => ({ name: c.name, type: c.type, version: c.version, capabilities: c.capabilities })),
    // The mesh proxy's snapshot as JSON: metadata.proto has no field of its own for it.
    extended_metadata: md.meshProxy === undefined ? md.extended : { ...md.extended, meshProxy: JSON.stringify(md.meshProxy) },
    subscriptions: (md.subscriptions as SubscriptionInfo[]).map((s) => ({
      pubsub_name: s.pubsubname ?? '',
      topic: s.topic ?? '',
      metadata: s.metadata ?? {},
      rules: { rules: (s.rules ?? []).map((r) => ({ match: r.match ?? '', path: r.path ?? '' })) },
      dead_letter_topic: s.deadLetterTopic ?? '',
      type: s.type ?? 'UNKNOWN',
    })),
    http_endpoints: (md.httpEndpoints as { name?: string }[]).map((e) => ({ name: e.name ?? '' })),
    app_connection_properties: app
      ? { port: app.port ?? 0, protocol: app.protocol, channel_address: app.channelAddress, max_concurrency: app.maxConcurrency ?? 0 }
      : null,
    runtime_version: md.runtimeVersion,
    enabled_features: md.enabledFeatures,
    // No actor runtime (no placement service): daprd reports it as DISABLED.
    actor_runtime: { runtime_status: 'DISABLED', active_actors: [], host_ready: false, placement: '' },
  };
}

export function metadataHandlers(metadata: MetadataCore): grpc.UntypedServiceImplementation {
  return {
    GetMetadata: unary(() => metadataResponse(metadata.get())),
    SetMetadata: unary((req: M.SetMetadataRequest): M.Empty => {
      // daprd ignores an empty key on this API.
      if (req.key) metadata.set(req.key, req.value);
      return {};
    }),
    // Answer first, then start the graceful shutdown.
    Shutdown: unary(
      (): M.Empty => ({}),
      () => metadata.shutdown(),
    ),
  };
}
