// GET/PUT metadata and the health/shutdown state, shared by every API.
import { RuntimeError } from '../errors/runtime-error';
import type { CoreContext } from './context';

export interface ComponentInfo {
  name: string;
  type: string;
  version: string;
  capabilities: string[];
}

export interface MetadataResult {
  id: string;
  runtimeVersion: string;
  enabledFeatures: string[];
  components: ComponentInfo[];
  extended: Record<string, string>;
  subscriptions: unknown[];
  httpEndpoints: unknown[];
  appConnectionProperties?: { port?: number; protocol: string; channelAddress: string; maxConcurrency?: number };
  /** The mesh proxy's listeners, routes and clusters with live counters; absent without a proxy. */
  meshProxy?: unknown;
}

export interface AppConnection {
  port?: number;
  protocol: string;
  channelAddress: string;
  maxConcurrency?: number;
}

export class MetadataCore {
  private readonly extended = new Map<string, string>();
  private ready = false;
  private outboundReady = false;
  private shutdownHandler?: () => void;
  private meshProxy?: () => unknown;

  constructor(
    private readonly ctx: CoreContext,
    private readonly app: AppConnection,
    /** The running pub/sub subscriptions, in the metadata API's shape. */
    private readonly subscriptions: () => unknown[] = () => [],
  ) {}

  get(): MetadataResult {
    const components = this.ctx.components
      .list()
      .filter((c) => c.kind !== 'hello')
      .map((c) => ({ name: c.name, type: c.meta.type, version: c.meta.version || 'v1', capabilities: c.capabilities }));
    return {
      id: this.ctx.appId,
      runtimeVersion: this.ctx.runtimeVersion,
      enabledFeatures: [],
      components,
      extended: { daprRuntimeVersion: this.ctx.runtimeVersion, ...Object.fromEntries(this.extended) },
      subscriptions: this.subscriptions(),
      httpEndpoints: [],
      appConnectionProperties: this.app.port ? this.app : { ...this.app, port: undefined },
      ...(this.meshProxy && { meshProxy: this.meshProxy() }),
    };
  }

  /** The mesh proxy's snapshot, reported by GetMetadata (the proxy is wired in after the core). */
  setMeshProxy(snapshot: (() => unknown) | undefined): void {
    this.meshProxy = snapshot;
  }

  set(key: string, value: string): void {
    if (!key) throw new RuntimeError('METADATA_KEY_EMPTY');
    this.extended.set(key, value);
  }

  /** healthz: ready once init completed; ?appid= must match when given. */
  checkHealth(appId?: string): void {
    if (!this.ready) throw new RuntimeError('HEALTH_NOT_READY');
    if (appId && appId !== this.ctx.appId) throw new RuntimeError('HEALTH_APPID_NOT_MATCH');
  }

  checkOutboundHealth(): void {
    if (!this.outboundReady) throw new RuntimeError('OUTBOUND_HEALTH_NOT_READY');
  }

  setReady(ready: boolean): void {
    this.ready = ready;
  }

  setOutboundReady(ready: boolean): void {
    this.outboundReady = ready;
  }

  onShutdown(fn: () => void): void {
    this.shutdownHandler = fn;
  }

  /** Starts graceful shutdown without waiting for it (the caller still gets its answer). */
  shutdown(): void {
    setImmediate(() => this.shutdownHandler?.());
  }
}
