// The dashboard's snapshot as the page receives it (GET /api/snapshot, each /api/stream event).
// Free of imports so the page (dashboard/, DOM types) and the server share it.

export interface RouteTraffic {
  api: string;
  route: string;
  count: number;
  errors: number;
  /** Requests per second over the recorder's rate window. */
  rate: number;
  /** Milliseconds, over the most recent answers. */
  p50: number;
  p99: number;
}

export interface Rejection {
  api: string;
  route: string;
  /** The rate-limit filter type that refused. */
  filter: string;
  count: number;
  last: string;
}

export interface ErrorAnswer {
  time: string;
  api: string;
  route: string;
  /** HTTP status or gRPC code name. */
  status: string;
  code: string;
  message: string;
}

export interface TrafficSnapshot {
  routes: RouteTraffic[];
  rejections: Rejection[];
  errors: ErrorAnswer[];
}

export interface DashboardComponent {
  kind: string;
  name: string;
  type: string;
  version: string;
  /** UP/DOWN from the component's ping; 'n/a' for a component without one. */
  health: string;
  reason?: string;
  capabilities: string[];
}

export interface SubscriptionView {
  pubsubname: string;
  topic: string;
  rules?: { match?: string; path: string }[];
  deadLetterTopic?: string;
  type: string;
}

/** The part of the mesh proxy's snapshot (src/mesh/proxy/snapshot.ts) the page shows. */
export interface ProxyView {
  listeners: { name: string; address: string; protocol: string; cluster?: string; routes: { name: string; cluster: string }[]; filters: string[]; stats: Record<string, number> }[];
  clusters: { name: string; appId?: string; endpoints: { address: string; health: string; ejectedUntil?: string }[]; stats: Record<string, number | boolean> }[];
}

export interface DashboardSnapshot extends TrafficSnapshot {
  time: string;
  appId: string;
  runtimeVersion: string;
  components: DashboardComponent[];
  subscriptions: SubscriptionView[];
  /** null without a mesh proxy. */
  proxy: ProxyView | null;
}
