// A listener's route table (Envoy's virtual hosts and routes, flattened): routes are tried in order
// and the first whose every condition holds wins. Conditions are compiled once at startup into
// small predicates, so matching a request is a few string comparisons. Regexes follow Envoy's
// safe_regex: they must match the whole path (query excluded) or the whole header value.
import type { RouteConfig, RouteMatchConfig } from './config';
import { ProxyConfigError } from './errors';

/** What routing reads from a request. */
export interface RouteRequest {
  /** Host header or :authority, lower-case, port removed. */
  host: string;
  /** The path without the query. */
  path: string;
  method: string;
  headers: Record<string, string | string[] | undefined>;
  /** content-type application/grpc*. */
  grpc: boolean;
}

export interface CompiledRoute {
  /** Position in the listener's routes. */
  readonly index: number;
  readonly name: string;
  /** The cluster's name; weighted clusters' names joined by commas. */
  readonly cluster: string;
  readonly config: RouteConfig;
  readonly matches: (r: RouteRequest) => boolean;
}

type Test = (r: RouteRequest) => boolean;

/** Host without its port, lower-case ("[::1]:80" → "::1"). */
export function hostOf(authority: string | undefined): string {
  if (!authority) return '';
  let h = authority;
  if (h.charCodeAt(0) === 91 /* [ */) {
    const end = h.indexOf(']');
    h = end > 0 ? h.slice(1, end) : h;
  } else {
    const colon = h.indexOf(':');
    if (colon >= 0) h = h.slice(0, colon);
  }
  return h.toLowerCase();
}

/** exact, "*" (any), "*.suffix" / "*-suffix" (a non-empty part before the suffix) or "prefix.*". */
export function hostPattern(pattern: string): (host: string) => boolean {
  const p = pattern.toLowerCase();
  if (p === '*') return () => true;
  if (p.startsWith('*')) {
    const suffix = p.slice(1);
    return (h) => h.length > suffix.length && h.endsWith(suffix);
  }
  if (p.endsWith('*')) {
    const prefix = p.slice(0, -1);
    return (h) => h.length > prefix.length && h.startsWith(prefix);
  }
  return (h) => h === p;
}

/** A regex that must match the whole input, compiled once; a bad one names its field. */
function wholeRegex(source: string, path: (string | number)[]): RegExp {
  try {
    new RegExp(source); // checked alone, so the error shows the expression as written
  } catch (e) {
    throw new ProxyConfigError(path, (e as Error).message);
  }
  return new RegExp(`^(?:${source})$`);
}

const headerValue = (v: string | string[] | undefined): string | undefined => (Array.isArray(v) ? v.join(',') : v);

/** "/pkg.Service/Method" → ["pkg.Service", "Method"]. */
export function grpcParts(path: string): [string, string] | undefined {
  const slash = path.indexOf('/', 1);
  if (path.charCodeAt(0) !== 47 || slash < 0) return undefined;
  return [path.slice(1, slash), path.slice(slash + 1)];
}

/** `at`: the route's path in the manifest, for errors. */
export function compileMatch(m: RouteMatchConfig, at: (string | number)[]): (r: RouteRequest) => boolean {
  const tests: Test[] = [];
  if (m.host) {
    const hosts = m.host.map(hostPattern);
    tests.push(hosts.length === 1 ? (r) => hosts[0]!(r.host) : (r) => hosts.some((h) => h(r.host)));
  }
  if (m.path !== undefined) {
    const p = m.path;
    tests.push((r) => r.path === p);
  }
  if (m.pathPrefix !== undefined) {
    const p = m.pathPrefix;
    tests.push((r) => r.path.startsWith(p));
  }
  if (m.pathRegex !== undefined) {
    const re = wholeRegex(m.pathRegex, [...at, 'pathRegex']);
    tests.push((r) => re.test(r.path));
  }
  m.headers.forEach((h, i) => {
    let test: (v: string | undefined) => boolean;
    if (h.exact !== undefined) {
      const want = h.exact;
      test = (v) => v === want;
    } else if (h.regex !== undefined) {
      const re = wholeRegex(h.regex, [...at, 'headers', i, 'regex']);
      test = (v) => v !== undefined && re.test(v);
    } else {
      const present = h.present ?? true;
      test = (v) => (v !== undefined) === present;
    }
    const name = h.name;
    tests.push(h.invert ? (r) => !test(headerValue(r.headers[name])) : (r) => test(headerValue(r.headers[name])));
  });
  if (m.grpc) {
    const { service, method } = m.grpc;
    tests.push((r) => {
      if (!r.grpc) return false;
      const parts = grpcParts(r.path);
      return parts !== undefined && (service === undefined || parts[0] === service) && (method === undefined || parts[1] === method);
    });
  }
  if (m.methods) {
    const methods = m.methods;
    tests.push((r) => methods.includes(r.method));
  }
  if (tests.length === 0) return () => true;
  if (tests.length === 1) return tests[0]!;
  return (r) => {
    for (const t of tests) if (!t(r)) return false;
    return true;
  };
}

export class Router {
  readonly routes: readonly CompiledRoute[];

  /** `at`: the listener's path in the manifest, for errors. Unnamed routes are "<listener>/<index>". */
  constructor(listener: string, routes: readonly RouteConfig[], at: (string | number)[]) {
    this.routes = routes.map((config, i) => ({
      index: i,
      name: config.name ?? `${listener}/${i}`,
      cluster: config.cluster ?? config.weightedClusters!.map((w) => w.name).join(','),
      config,
      matches: compileMatch(config.match, [...at, 'routes', i, 'match']),
    }));
  }

  match(r: RouteRequest): CompiledRoute | undefined {
    for (const route of this.routes) if (route.matches(r)) return route;
    return undefined;
  }
}
