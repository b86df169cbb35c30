// An ADS client (Envoy's aggregated discovery service, state of the world) over grpc-js: one
// bidirectional stream carries every resource type; per type it keeps the last accepted version,
// the last nonce and the names it subscribes to. Each response goes to `handle` (one at a time, in
// order); a resolved handle is ACKed (version_info = the response's version), a rejected one is
// NACKed with error_detail (version_info = the last accepted one, so the server knows what still
// runs). A broken stream is re-opened with exponential backoff (jittered, reset once a response
// arrives) and every type re-requested with its last accepted version, as Envoy does.
import { type ClientDuplexStream, credentials, type ServiceError, status as grpcStatus } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { adsService, decodeResource, type Msg, TYPE_NAME, TYPE_ORDER, type TypeUrl } from './protos';

export interface XdsNode {
  id: string;
  cluster: string;
  metadata: Record<string, string>;
}

export interface AdsOptions {
  /** host:port of the control plane (plaintext gRPC). */
  server: string;
  node: XdsNode;
  log: Logger;
  /** Applies one response's resources (decoded); rejects with the NACK's reason. */
  handle(type: TypeUrl, version: string, resources: Msg[]): Promise<void>;
  /** Backoff between reconnects: first wait and cap (ms). */
  backoff?: { initialMs: number; maxMs: number };
}

/** One type's subscription as the status reports it. */
export interface TypeStatus {
  /** The last accepted (ACKed) version; '' before the first. */
  version: string;
  /** The nonce of the last response of this type. */
  nonce: string;
  /** Subscribed names; empty for a wildcard (LDS, CDS). */
  names: string[];
  acks: number;
  nacks: number;
  lastUpdate?: string;
}

export interface NackStatus {
  type: string;
  version: string;
  nonce: string;
  message: string;
  at: string;
}

export interface AdsStatus {
  server: string;
  node: XdsNode;
  state: 'connecting' | 'connected' | 'disconnected' | 'stopped';
  /** Streams opened so far (1 + reconnects). */
  streams: number;
  connectedSince?: string;
  lastError?: string;
  types: Record<'lds' | 'rds' | 'cds' | 'eds', TypeStatus>;
  lastNack?: NackStatus;
}

interface DiscoveryResponse {
  version_info: string;
  resources: { type_url: string; value: Buffer }[];
  type_url: string;
  nonce: string;
}

/** Wildcard types (every resource) and named ones (what the listeners and clusters ask for). */
const WILDCARD = new Set<string>([TYPE_ORDER[0], TYPE_ORDER[2]]);
const USER_AGENT = 'layotto-ts';
const INVALID_ARGUMENT = 3;

export class AdsClient {
  private readonly client: InstanceType<ReturnType<typeof adsService>>;
  private readonly types = new Map<TypeUrl, TypeStatus>();
  private stream?: ClientDuplexStream<unknown, DiscoveryResponse>;
  private queue: Promise<void> = Promise.resolve();
  private timer?: NodeJS.Timeout;
  private attempt = 0;
  private nodeSent = false;
  private stopped = false;
  readonly status: AdsStatus;
  /** Called whenever the status changes (connection, ACK, NACK). */
  onChange: () => void = () => undefined;

  constructor(private readonly opts: AdsOptions) {
    const Ads = adsService();
    this.client = new Ads(opts.server, credentials.createInsecure());
    for (const t of TYPE_ORDER) this.types.set(t, { version: '', nonce: '', names: [], acks: 0, nacks: 0 });
    this.status = { server: opts.server, node: opts.node, state: 'connecting', streams: 0, types: Object.fromEntries(TYPE_ORDER.map((t) => [TYPE_NAME[t], this.types.get(t)!])) as AdsStatus['types'] };
  }

  start(): void {
    this.open();
  }

  /** Changes the names of a named type (RDS, EDS); sends a request when they differ. */
  subscribe(type: TypeUrl, names: string[]): void {
    const st = this.types.get(type)!;
    const sorted = [...new Set(names)].sort();
    if (sorted.join('\n') === st.names.join('\n')) return;
    st.names = sorted;
    this.request(type);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.stream?.cancel();
    this.stream = undefined;
    this.client.close();
    this.setState('stopped');
  }

  private open(): void {
    if (this.stopped) return;
    this.status.streams++;
    this.setState('connecting');
    const stream = this.client.StreamAggregatedResources() as ClientDuplexStream<unknown, DiscoveryResponse>;
    this.stream = stream;
    this.nodeSent = false;
    let answered = false;
    stream.on('data', (res: DiscoveryResponse) => {
      if (this.stream !== stream) return;
      if (!answered) {
        answered = true;
        this.attempt = 0;
        this.status.connectedSince = new Date().toISOString();
        this.setState('connected');
      }
      this.queue = this.queue.then(() => this.respond(res));
    });
    stream.on('metadata', () => {
      if (this.stream === stream && this.status.state === 'connecting') this.setState('connected');
    });
    const broken = (why: string) => {
      if (this.stream !== stream) return;
      this.stream = undefined;
      this.status.lastError = why;
      this.status.connectedSince = undefined;
      this.setState('disconnected');
      if (!this.stopped) this.retry(why);
    };
    stream.on('error', (e: ServiceError) => broken(e.code === grpcStatus.UNAVAILABLE ? `control plane unavailable: ${e.details || e.message}` : e.message));
    stream.on('end', () => broken('the control plane ended the stream'));
    // Every type with something to ask for, with its last accepted version (a reconnect resumes from it).
    for (const t of TYPE_ORDER) if (WILDCARD.has(t) || this.types.get(t)!.names.length > 0) this.request(t, '');
  }

  private retry(why: string): void {
    const { initialMs, maxMs } = this.opts.backoff ?? { initialMs: 1000, maxMs: 30_000 };
    const base = Math.min(maxMs, initialMs * 2 ** this.attempt++);
    const wait = Math.round(base / 2 + Math.random() * (base / 2));
    this.opts.log.warn(`xds: ${why}; reconnecting in ${wait}ms (the last config keeps serving)`);
    this.timer = setTimeout(() => this.open(), wait);
    this.timer.unref();
  }

  private async respond(res: DiscoveryResponse): Promise<void> {
    const type = res.type_url as TypeUrl;
    const st = this.types.get(type);
    if (!st) {
      this.opts.log.warn(`xds: a response of type ${res.type_url} that was not asked for: ignored`);
      return;
    }
    st.nonce = res.nonce;
    let error: string | undefined;
    try {
      const decoded = res.resources.map((a) => {
        if (a.type_url !== type) throw new Error(`a resource of type ${a.type_url} in a ${type} response`);
        return decodeResource(type, a.value);
      });
      await this.opts.handle(type, res.version_info, decoded);
    } catch (e) {
      error = (e instanceof Error ? e.message : String(e)) || 'rejected';
    }
    st.lastUpdate = new Date().toISOString();
    if (error === undefined) {
      st.version = res.version_info;
      st.acks++;
      this.opts.log.info(`xds: ${TYPE_NAME[type]} version ${res.version_info} applied (${res.resources.length} resources)`);
    } else {
      st.nacks++;
      this.status.lastNack = { type: TYPE_NAME[type], version: res.version_info, nonce: res.nonce, message: error, at: st.lastUpdate };
      this.opts.log.error(`xds: ${TYPE_NAME[type]} version ${res.version_info} rejected, version ${st.version || '(none)'} keeps serving: ${error}`);
    }
    this.request(type, res.nonce, error);
    this.onChange();
  }

  /** A DiscoveryRequest: an ACK (no error), a NACK (error), or a (re)subscription. */
  private request(type: TypeUrl, nonce = this.types.get(type)!.nonce, error?: string): void {
    const stream = this.stream;
    if (!stream) return;
    const st = this.types.get(type)!;
    const req: Record<string, unknown> = { version_info: st.version, resource_names: st.names, type_url: type, response_nonce: nonce };
    if (error !== undefined) req.error_detail = { code: INVALID_ARGUMENT, message: error };
    // The node goes with the stream's first request only (Envoy's set_node_on_first_message_only).
    if (!this.nodeSent) {
      this.nodeSent = true;
      const n = this.opts.node;
      req.node = {
        id: n.id,
        cluster: n.cluster,
        metadata: { fields: Object.fromEntries(Object.entries(n.metadata).map(([k, v]) => [k, { stringValue: v }])) },
        user_agent_name: USER_AGENT,
        user_agent_version: require('../../../package.json').version,
        client_features: ['envoy.lb.does_not_support_overprovisioning'],
      };
    }
    stream.write(req);
  }

  private setState(s: AdsStatus['state']): void {
    if (this.status.state === s) return;
    this.status.state = s;
    if (s === 'connected') this.opts.log.info(`xds: connected to ${this.opts.server} as ${this.opts.node.id}`);
    this.onChange();
  }
}
