// The Envoy v3 protos that ship in @grpc/grpc-js-xds (deps/envoy-api and what it imports), loaded
// once and only when xDS is used (parsing them takes a moment): the ADS service for grpc-js, and a
// protobufjs root that decodes the resources a DiscoveryResponse carries as google.protobuf.Any
// (nested typed_config included) into plain objects, or encodes them (the tests' control plane).
import { dirname, join } from 'node:path';
import { type GrpcObject, loadPackageDefinition, type ServiceClientConstructor } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { loadProtosWithOptionsSync } from '@grpc/proto-loader/build/src/util';
import type { Root, Type } from 'protobufjs';

const DEPS = join(dirname(require.resolve('@grpc/grpc-js-xds/package.json')), 'deps');
const INCLUDE = ['envoy-api', 'xds', 'googleapis', 'protoc-gen-validate'].map((d) => join(DEPS, d));

/** Every resource and typed_config the translation reads. */
const RESOURCE_FILES = [
  'envoy/config/listener/v3/listener.proto',
  'envoy/config/route/v3/route.proto',
  'envoy/config/cluster/v3/cluster.proto',
  'envoy/config/endpoint/v3/endpoint.proto',
  'envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto',
  'envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy.proto',
  'envoy/extensions/filters/http/router/v3/router.proto',
  'envoy/extensions/filters/http/local_ratelimit/v3/local_rate_limit.proto',
  'envoy/extensions/upstreams/http/v3/http_protocol_options.proto',
];

export const TYPE = {
  listener: 'type.googleapis.com/envoy.config.listener.v3.Listener',
  route: 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration',
  cluster: 'type.googleapis.com/envoy.config.cluster.v3.Cluster',
  endpoint: 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment',
} as const;
export type TypeUrl = (typeof TYPE)[keyof typeof TYPE];
/** The order Envoy subscribes in (and a change applies in: clusters before the listeners that name them). */
export const TYPE_ORDER: readonly TypeUrl[] = [TYPE.cluster, TYPE.endpoint, TYPE.listener, TYPE.route];
export const TYPE_NAME: Record<TypeUrl, 'lds' | 'rds' | 'cds' | 'eds'> = { [TYPE.listener]: 'lds', [TYPE.route]: 'rds', [TYPE.cluster]: 'cds', [TYPE.endpoint]: 'eds' };

let root: Root | undefined;
let ads: ServiceClientConstructor | undefined;

function resources(): Root {
  return (root ??= loadProtosWithOptionsSync(RESOURCE_FILES, { keepCase: true, includeDirs: INCLUDE }));
}

/** The AggregatedDiscoveryService client/service definition (snake_case fields, enums as names). */
export function adsService(): ServiceClientConstructor {
  if (ads) return ads;
  const def = loadSync('envoy/service/discovery/v3/ads.proto', { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true, includeDirs: INCLUDE });
  const pkg = loadPackageDefinition(def) as unknown as { envoy: { service: { discovery: { v3: GrpcObject } } } };
  return (ads = pkg.envoy.service.discovery.v3.AggregatedDiscoveryService as ServiceClientConstructor);
}

/** A protobuf message as a plain object: snake_case, only the fields that are set, enums by name, Any as {"@type", ...fields}. */
export type Msg = Record<string, unknown>;

function typeOf(typeUrl: string): Type {
  const name = typeUrl.slice(typeUrl.lastIndexOf('/') + 1);
  return resources().lookupType(name);
}

/** An enum value's number by its name (decoded messages carry names), e.g. envoy.type.v3.StatusCode TooManyRequests → 429. */
export function enumNumber(enumName: string, value: string | number): number | undefined {
  if (typeof value === 'number') return value;
  return resources().lookupEnum(enumName).values[value];
}

/** Decodes one resource of a DiscoveryResponse (an Any's value). */
export function decodeResource(typeUrl: string, value: Uint8Array): Msg {
  const t = typeOf(typeUrl);
  return t.toObject(t.decode(value), { longs: Number, enums: String, json: true }) as Msg;
}

/** Encodes a resource (nested typed_config as {"@type", ...}) as the Any a DiscoveryResponse carries. */
export function encodeResource(typeUrl: string, object: Msg): { type_url: string; value: Buffer } {
  const t = typeOf(typeUrl);
  const err = t.verify(t.fromObject(object));
  if (err) throw new Error(`${typeUrl}: ${err}`);
  return { type_url: typeUrl, value: Buffer.from(t.encode(t.fromObject(object)).finish()) };
}
