// A control plane for the xDS suites: a grpc-js ADS server (state of the world) speaking the Envoy
// protos of @grpc/grpc-js-xds. set() replaces a type's resources under a new version and pushes
// them to every open stream; a stream gets a type's resources when it first asks for the type or
// changes the names it asks for (named types: only the names asked). Every request is kept, so a
// test reads ACKs, NACKs (error_detail), nodes and versions. stop() and start() again on the same
// port stand for the control plane going away and coming back.
import { Server, ServerCredentials, type ServerDuplexStream } from '@grpc/grpc-js';
import { adsService, encodeResource, type Msg, TYPE } from '../src/mesh/xds/protos';

export { TYPE };

export interface DiscoveryRequest {
  version_info: string;
  node?: { id: string; cluster: string; metadata?: { fields: Record<string, { stringValue?: string }> } };
  resource_names: string[];
  type_url: string;
  response_nonce: string;
  error_detail?: { code: number; message: string } | null;
}

type Stream = ServerDuplexStream<DiscoveryRequest, unknown>;

const nameOf = (type: string, r: Msg): string => String(type === TYPE.endpoint ? r.cluster_name : r.name);

export class AdsServer {
  port = 0;
  readonly requests: DiscoveryRequest[] = [];
  streams = 0;
  private server?: Server;
  private nonce = 0;
  private readonly open = new Map<Stream, Map<string, string[]>>();
  private readonly resources = new Map<string, { version: string; items: Msg[] }>();

  async start(port = this.port): Promise<void> {
    const server = new Server();
    server.addService(adsService().service, { StreamAggregatedResources: (call: Stream) => this.stream(call) });
    this.port = await new Promise<number>((resolve, reject) => server.bindAsync(`127.0.0.1:${port}`, ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
    this.server = server;
  }

  /** Replaces the resources of `type` (version `version`) and pushes them to every stream that asked for the type. */
  set(type: string, version: string, items: Msg[]): void {
    this.resources.set(type, { version, items });
    for (const [call, asked] of this.open) if (asked.has(type)) this.send(call, type, asked.get(type)!);
  }

  /** Requests of `type` that answered the response with `nonce`... or all of that type. */
  of(type: string): DiscoveryRequest[] {
    return this.requests.filter((r) => r.type_url === type);
  }

  /** Closes every stream and the server: the control plane goes away. */
  async stop(): Promise<void> {
    for (const call of this.open.keys()) call.destroy(new Error('control plane stopping'));
    this.open.clear();
    const s = this.server;
    this.server = undefined;
    s?.forceShutdown();
  }

  private stream(call: Stream): void {
    this.streams++;
    const asked = new Map<string, string[]>();
    this.open.set(call, asked);
    call.on('data', (req: DiscoveryRequest) => {
      this.requests.push(req);
      const before = asked.get(req.type_url);
      const names = [...req.resource_names].sort();
      asked.set(req.type_url, names);
      // A first request, or new names: answer; an ACK or NACK of the same names: wait for the next set().
      if (before === undefined || before.join() !== names.join() || req.response_nonce === '') this.send(call, req.type_url, names);
    });
    call.on('end', () => {
      this.open.delete(call);
      call.end();
    });
    call.on('error', () => this.open.delete(call));
  }

  private send(call: Stream, type: string, names: string[]): void {
    const r = this.resources.get(type);
    if (!r) return;
    const items = names.length === 0 ? r.items : r.items.filter((i) => names.includes(nameOf(type, i)));
    call.write({ version_info: r.version, type_url: type, nonce: String(++this.nonce), resources: items.map((i) => encodeResource(type, i)) });
  }
}

const HCM = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
export const ROUTER_FILTER: Msg = { name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } };
const seconds = (ms: number): Msg => ({ seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1e6 });

/** Envoy resources as the tests push them (plain objects, typed_config as {"@type", ...}). */
export const envoy = {
  /** An HTTP listener on 127.0.0.1:port: routes from RDS (`rds`) or inline (`routeConfig`), filters before the router. */
  listener(name: string, port: number, o: { rds?: string; routeConfig?: Msg; httpFilters?: Msg[] }): Msg {
    const hcm: Msg = { '@type': HCM, stat_prefix: name, http_filters: [...(o.httpFilters ?? []), ROUTER_FILTER] };
    if (o.rds) hcm.rds = { route_config_name: o.rds, config_source: { ads: {} } };
    else hcm.route_config = o.routeConfig;
    return { name, address: { socket_address: { address: '127.0.0.1', port_value: port } }, filter_chains: [{ filters: [{ name: 'envoy.filters.network.http_connection_manager', typed_config: hcm }] }] };
  },
  /** One virtual host (domains "*") with these routes. */
  routes(name: string, routes: Msg[]): Msg {
    return { name, virtual_hosts: [{ name: 'all', domains: ['*'], routes }] };
  },
  route(prefix: string, action: Msg, extra: Msg = {}): Msg {
    return { match: { prefix }, route: action, ...extra };
  },
  weighted(weights: Record<string, number>): Msg {
    return { weighted_clusters: { clusters: Object.entries(weights).map(([name, weight]) => ({ name, weight: { value: weight } })) } };
  },
  /** An EDS cluster (endpoints from the ClusterLoadAssignment of the same name). */
  edsCluster(name: string, extra: Msg = {}): Msg {
    return { name, type: 'EDS', eds_cluster_config: { eds_config: { ads: {} } }, connect_timeout: seconds(1000), ...extra };
  },
  /** A ClusterLoadAssignment of loopback ports (weight, health status optional). */
  cla(name: string, endpoints: { port: number; weight?: number; health?: string }[]): Msg {
    return {
      cluster_name: name,
      endpoints: [{ lb_endpoints: endpoints.map((e) => ({ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: e.port } } }, ...(e.weight && { load_balancing_weight: { value: e.weight } }), ...(e.health && { health_status: e.health }) })) }],
    };
  },
  seconds,
};
