// Service invocation access control (daprd's pkg/acl), from the Configuration's spec.accessControl
// and checked by the callee sidecar before a call from another sidecar reaches its app. The caller
// is who its peer certificate proves (mTLS: InvokeRequest.callerIdentity), else who the calling
// sidecar says it is (dapr-caller-app-id): daprd, lacking a certificate, knows no caller and
// applies only the global default; taking the sidecar's word lets per-app policies work without
// mTLS too, as far as the network lets only sidecars reach the internal port.
import type { CallerIdentity, Headers, InvokeRequest } from './types';

/** spec.accessControl as written (policies: undefined when absent, which daprd tells apart from []). */
export interface AccessControlSpec {
  defaultAction: string;
  trustDomain: string;
  policies?: AppPolicySpec[];
}

export interface AppPolicySpec {
  appId: string;
  defaultAction: string;
  trustDomain: string;
  namespace: string;
  operations: { name: string; httpVerb: string[]; action: string }[];
}

/** One call to decide on: the method (HTTP path or /pkg.Service/Method) and its HTTP verb ('NONE' when it has none). */
export interface AclCall {
  caller?: CallerIdentity;
  operation: string;
  verb: string;
}

export interface AclDecision {
  allowed: boolean;
  /** daprd's PermissionDenied text, when denied ("… denied access to id: <SPIFFE ID> operation: … verb: …"). */
  message?: string;
  /** Whether the global default or an app policy decided (daprd's metrics label). */
  policy: 'global' | 'app';
}

/** Sees every decision with the caller it was made for (daprd's dapr_runtime_acl_* metrics). */
export type AclObserver = (decision: AclDecision, caller: CallerIdentity | undefined) => void;

/** daprd's defaults: the trust domain of a sidecar without one configured, the namespace of one without NAMESPACE. */
export const DEFAULT_TRUST_DOMAIN = 'public';
export const DEFAULT_NAMESPACE = 'default';

interface Operation {
  segments: string[];
  verbs: Map<string, string>;
  action: string;
}

interface AppPolicy {
  trustDomain: string;
  defaultAction: string;
  operations: Operation[];
}

const isAllow = (action: string): boolean => action.toLowerCase() === 'allow';

export class AccessControl {
  private constructor(
    /** This sidecar's trust domain (spec.accessControl.trustDomain, default "public"). */
    readonly trustDomain: string,
    private readonly defaultAction: string,
    private readonly policies: Map<string, AppPolicy>,
    private readonly appIsHttp: boolean,
    private readonly observe?: AclObserver,
  ) {}

  /**
   * The access control list of a spec, or undefined when the spec sets nothing (every call
   * allowed). `appIsHttp`: the app speaks HTTP (http, https, h2c): paths then match
   * case-insensitively and policies look at verbs; for gRPC apps only the operation counts.
   */
  static from(spec: AccessControlSpec | undefined, appIsHttp: boolean, observe?: AclObserver): AccessControl | undefined {
    if (!spec || (!spec.trustDomain && !spec.defaultAction && !spec.policies?.length)) return undefined;
    // No global default: deny once policies exist (or none were written), allow for an explicit empty list.
    const defaultAction = spec.defaultAction || (spec.policies === undefined || spec.policies.length > 0 ? 'deny' : 'allow');
    const policies = new Map<string, AppPolicy>();
    for (const p of spec.policies ?? []) {
      const key = policyKey(p.appId, p.namespace);
      if (policies.has(key)) continue; // daprd's map keeps the last; the first is clearer and equally arbitrary
      policies.set(key, {
        trustDomain: p.trustDomain,
        defaultAction: p.defaultAction,
        operations: p.operations.map((o) => ({
          segments: segmentsOf(appIsHttp ? o.name.toLowerCase() : o.name),
          verbs: new Map(o.httpVerb.map((v) => [v.toUpperCase(), o.action])),
          action: o.action,
        })),
      });
    }
    return new AccessControl(spec.trustDomain || DEFAULT_TRUST_DOMAIN, defaultAction, policies, appIsHttp, observe);
  }

  /** daprd's ApplyAccessControlPolicies. */
  check(call: AclCall): AclDecision {
    const operation = normalizeOperation(call.operation);
    const verb = this.appIsHttp ? call.verb.toUpperCase() : 'NONE';
    const { action, policy } = this.decide(call.caller, operation, verb);
    const d: AclDecision = isAllow(action) ? { allowed: true, policy } : { allowed: false, policy, message: `access control policy has denied access to id: ${spiffeUrl(call.caller)} operation: ${operation} verb: ${verb}` };
    this.observe?.(d, call.caller);
    return d;
  }

  private decide(caller: CallerIdentity | undefined, operation: string, verb: string): { action: string; policy: 'global' | 'app' } {
    const global = { action: this.defaultAction, policy: 'global' as const };
    if (!caller?.appId) return global;
    const app = this.policies.get(policyKey(caller.appId, caller.namespace));
    if (!app || app.trustDomain !== caller.trustDomain) return global;
    let action = app.defaultAction || this.defaultAction;
    const policy = app.defaultAction ? ('app' as const) : ('global' as const);
    const path = segmentsOf(this.appIsHttp ? operation.toLowerCase() : operation);
    const op = app.operations.find((o) => matches(o.segments, path));
    if (op) {
      if (!this.appIsHttp) action = op.action;
      else if (verb === 'NONE') action = app.defaultAction; // daprd: no verb on an HTTP app → the app's own default (unset: deny)
      else action = op.verbs.get(verb) ?? op.verbs.get('*') ?? action;
    }
    return { action, policy };
  }
}

const policyKey = (appId: string, namespace: string): string => `${appId}||${namespace}`;

/** The caller as daprd names it in a denial: its SPIFFE ID, or Go's "<nil>" when there is none. */
const spiffeUrl = (c: CallerIdentity | undefined): string => (c?.appId ? `spiffe://${c.trustDomain}/ns/${c.namespace}/${c.appId}` : '<nil>');

/** "/a/b" or "a/b" → ['a', 'b']. */
function segmentsOf(path: string): string[] {
  return (path.startsWith('/') ? path.slice(1) : path).split('/');
}

/**
 * An operation pattern against a path, segment by segment: '*' inside a segment matches any
 * characters of it; a last segment '*' matches one segment or none, '**' any number of them
 * (daprd's ACL trie: "/api/*" takes "/api/x" and "/api", not "/api/x/y"; "/api/**" all three).
 */
export function matches(pattern: readonly string[], path: readonly string[]): boolean {
  const last = pattern.length - 1;
  const tail = pattern[last];
  if (tail === '**' && path.length < last) return false;
  if (tail === '*' && path.length !== last && path.length !== pattern.length) return false;
  if (tail !== '**' && tail !== '*' && path.length !== pattern.length) return false;
  for (let i = 0; i < Math.min(last, path.length); i++) if (!glob(pattern[i]!, path[i]!)) return false;
  return tail === '**' || tail === '*' || glob(tail!, path[last]!);
}

/** '*' matches any run of characters (none included); everything else literally. */
function glob(pattern: string, s: string): boolean {
  if (!pattern.includes('*')) return pattern === s;
  const parts = pattern.split('*');
  if (!s.startsWith(parts[0]!)) return false;
  let at = parts[0]!.length;
  for (let i = 1; i < parts.length - 1; i++) {
    const found = s.indexOf(parts[i]!, at);
    if (found < 0) return false;
    at = found + parts[i]!.length;
  }
  const end = parts[parts.length - 1]!;
  return s.length - at >= end.length && s.endsWith(end);
}

const UNRESERVED = /[A-Za-z0-9\-._~]/;

/**
 * The operation as daprd normalizes it before matching (purell's usually-safe-greedy rules plus
 * duplicate slashes): escapes of unreserved characters decoded, others upper-cased, '//' folded,
 * '.' and '..' segments resolved, no trailing slash.
 */
export function normalizeOperation(op: string): string {
  const unescaped = op.replace(/%([0-9a-fA-F]{2})/g, (_, hex: string) => {
    const c = String.fromCharCode(parseInt(hex, 16));
    return UNRESERVED.test(c) ? c : `%${hex.toUpperCase()}`;
  });
  const absolute = unescaped.startsWith('/');
  const out: string[] = [];
  for (const seg of unescaped.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') out.pop();
    else out.push(seg);
  }
  return (absolute ? '/' : '') + out.join('/');
}

/**
 * The caller as the calling sidecar names it (dapr-caller-app-id, dapr-caller-namespace; the last
 * value of each is that sidecar's own), in this sidecar's trust domain; undefined without an app id.
 */
export function callerFromHeaders(h: Headers, trustDomain: string): CallerIdentity | undefined {
  const appId = h['dapr-caller-app-id']?.at(-1);
  if (!appId) return undefined;
  return { appId, namespace: h['dapr-caller-namespace']?.at(-1) || DEFAULT_NAMESPACE, trustDomain };
}

/** Who made a call that reached this sidecar: the verified identity (mTLS), else the calling sidecar's word. */
export const callerOf = (req: Pick<InvokeRequest, 'headers' | 'callerIdentity'>, trustDomain: string): CallerIdentity | undefined =>
  req.callerIdentity ?? callerFromHeaders(req.headers, trustDomain);
