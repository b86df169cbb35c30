// Service invocation, written once for the three API faces (daprd's messaging.directMessaging):
// pick the target — an HTTPEndpoint or URL, this sidecar's own app, or an app behind another
// sidecar — add daprd's headers, and run the call under the Resiliency policies for that target.
// Every failure to reach the target is ERR_DIRECT_INVOKE "failed to invoke, id: <id>, err: <why>";
// an answer from the target, whatever its status, is passed back as it is.
import { Readable } from 'node:stream';
import { errMessage, isRuntimeError, RuntimeError } from '../../errors/runtime-error';
import type { CoreContext } from '../context';
import { permanent, StatusCodeError } from '../resiliency/errors';
import { NO_RESILIENCY, type Resiliency } from '../resiliency/types';
import { anyOf } from '../signals';
import { ExternalInvokers } from './external';
import { invocationHeaders, withTrace } from './headers';
import { currentTrace, describeCurrentSpan } from '../trace';
import { normalizeMethod } from './method';
import { EmptyBody, ReplayableBody } from './replay';
import type { InvokeRequest, InvokeResponse, Invoker } from './types';
import { type AccessControl, callerOf } from './acl';

export type * from './types';
export type { HttpEndpoint } from './external';

/**
 * The Invoker for an app behind another sidecar (name resolution + sidecar-to-sidecar transport);
 * rejects with the resolver's reason when the app cannot be found.
 */
export type RemoteInvokers = (appId: string, namespace: string) => Invoker | Promise<Invoker>;

export interface InvokeCoreOptions {
  resiliency?: Resiliency;
  remote?: RemoteInvokers;
  /** Bytes of a request body kept so a retry can send it again (larger bodies stream once). */
  replayLimit?: number;
}

const DEFAULT_REPLAY_LIMIT = 4 * 1024 * 1024;

type Target = { kind: 'external'; invoker: Invoker; baseUrl?: string } | { kind: 'local' } | { kind: 'remote'; id: string; namespace: string };

/** The circuit breaker key within a target, as daprd's EndpointPolicy names it. */
function policyEndpoint(target: Target, id: string, method: string): string {
  if (target.kind !== 'external') return `${id}:${method}`;
  return target.baseUrl !== undefined ? `${id}:${target.baseUrl}` : `${id}/${method}`;
}

/** A sidecar transport failure with gRPC code PERMISSION_DENIED (7). */
const isPermissionDenied = (e: unknown): boolean => (e as { code?: unknown } | null)?.code === 7;

/** Throws a failure status (HTTP outside 200-399, a gRPC app's non-OK code) with the answer, its body read. */
function failureAsError(res: InvokeResponse): InvokeResponse | Promise<InvokeResponse> {
  const code = res.grpc ? res.grpc.code : res.status;
  // A success goes back as it is, without another promise per call.
  return (res.grpc ? code === 0 : code >= 200 && code <= 399) ? res : failed(res, code);
}

async function failed(res: InvokeResponse, code: number): Promise<InvokeResponse> {
  const body = res.whole ?? Buffer.concat(await res.body.toArray());
  const kept: InvokeResponse = { ...res, body: Readable.from(body.length > 0 ? [body] : []), whole: body };
  throw new StatusCodeError(code, res.grpc ? 'grpc' : 'http', `received non-successful status code in response: ${code}`, kept);
}

export class InvokeCore {
  readonly external = new ExternalInvokers();
  private app?: Invoker;
  private remote?: RemoteInvokers;
  private resiliency: Resiliency;
  private readonly replayLimit: number;
  private acl?: AccessControl;
  private functions?: (appId: string) => Invoker | undefined;

  constructor(
    private readonly ctx: CoreContext,
    opts: InvokeCoreOptions = {},
  ) {
    this.resiliency = opts.resiliency ?? NO_RESILIENCY;
    this.remote = opts.remote;
    this.replayLimit = opts.replayLimit ?? DEFAULT_REPLAY_LIMIT;
  }

  /** The local app channel (none without --app-port). */
  setAppChannel(app: Invoker | undefined): void {
    this.app = app;
  }

  setRemote(remote: RemoteInvokers | undefined): void {
    this.remote = remote;
  }

  /** WebAssembly functions of this sidecar: an installed function id is called like an app. */
  setLocalFunctions(lookup: ((appId: string) => Invoker | undefined) | undefined): void {
    this.functions = lookup;
  }

  setResiliency(resiliency: Resiliency): void {
    this.resiliency = resiliency;
  }

  /** Configuration spec.accessControl for calls other sidecars send here (undefined: all allowed). */
  setAccessControl(acl: AccessControl | undefined): void {
    this.acl = acl;
  }

  /**
   * The callee's access control for a call another sidecar sent (daprd's callLocalValidateACL):
   * undefined when allowed, else the denial its transport answers as PermissionDenied.
   */
  authorize(req: Pick<InvokeRequest, 'method' | 'verb' | 'headers' | 'callerIdentity'>): string | undefined {
    if (!this.acl) return undefined;
    const d = this.acl.check({ caller: callerOf(req, this.acl.trustDomain), operation: req.method, verb: req.verb });
    return d.allowed ? undefined : d.message;
  }

  /** Invokes `req.method` on `req.appId`; rejects with ERR_DIRECT_INVOKE when the target cannot answer. */
  async invoke(req: InvokeRequest, signal?: AbortSignal): Promise<InvokeResponse> {
    const id = req.appId;
    const replayable = req.length !== undefined && req.length <= this.replayLimit;
    const body = req.length === 0 ? new EmptyBody(req.body) : new ReplayableBody(req.body, replayable ? req.length! : this.replayLimit);
    try {
      const target = this.target(id);
      const method = normalizeMethod(req.method);
      describeCurrentSpan(`CallLocal/${id}/${method}`, { 'rpc.service': 'ServiceInvocation', 'net.peer.name': id });
      const out: InvokeRequest = { ...req, method, headers: this.headersFor(target, req) };
      const attempt = async (...policy: AbortSignal[]): Promise<InvokeResponse> => {
        // Resolved on every attempt, as daprd's policy runs directMessaging.Invoke: a retry can
        // reach another instance of the app when the one the first attempt found went away.
        const invoker = await this.invokerFor(target, id);
        let attemptBody: Readable;
        try {
          attemptBody = body.open();
        } catch (e) {
          throw permanent(e); // a streamed body cannot go out twice: no more retries
        }
        // Policies may hand the same never-aborting signal to every call: a detachable link, let go
        // once the answer is read (AbortSignal.any would keep one per call alive on Node 20).
        const linked = anyOf(...(signal ? [signal] : []), ...policy);
        let res: InvokeResponse;
        try {
          res = await invoker.invoke({ ...out, body: attemptBody }, linked.signal);
        } catch (e) {
          linked.dispose();
          throw e;
        }
        // An answer read whole has nothing left to abort.
        if (res.whole !== undefined) linked.dispose();
        else res.body.once('close', linked.dispose);
        // A failure status goes to the policies as daprd's CodeError (they may retry it), with the
        // answer kept for the caller; a streamed request cannot be retried, so its answer streams on.
        return replayable ? failureAsError(res) : res;
      };
      // A call to another sidecar also gets daprd's built-in retries on UNAVAILABLE (unless a
      // policy names the app), each retry resolving the app again.
      const run = target.kind === 'remote' ? (s: AbortSignal) => this.resiliency.sidecarCall(target.id, (s2) => attempt(s, s2)) : attempt;
      return await this.resiliency.app(id, run, policyEndpoint(target, id, out.method));
    } catch (e) {
      body.discard();
      if (e instanceof StatusCodeError && e.response) return e.response as InvokeResponse;
      if (isRuntimeError(e)) throw e;
      // The callee's access control said no (gRPC PERMISSION_DENIED from its sidecar): daprd answers HTTP 403.
      throw new RuntimeError(isPermissionDenied(e) ? 'DIRECT_INVOKE_FORBIDDEN' : 'DIRECT_INVOKE', id, errMessage(e));
    }
  }

  /**
   * The callee side: a call that reached this sidecar (from another sidecar) for its own app.
   * Rejects with a plain Error when there is no app channel or the app is unhealthy.
   */
  callLocal(req: InvokeRequest, signal?: AbortSignal): Promise<InvokeResponse> {
    if (!this.app) return Promise.reject(new Error('cannot invoke local endpoint: app channel not initialized'));
    // With tracing on, the app gets this sidecar's span (daprd's CallLocal server span) as parent.
    const current = currentTrace();
    if (!current) return this.app.invoke(req, signal);
    describeCurrentSpan(`CallLocal/${this.ctx.appId}/${req.method}`, { 'rpc.service': 'ServiceInvocation', 'dapr.invoke_method': req.method });
    return this.app.invoke({ ...req, headers: withTrace(req.headers, current) }, signal);
  }

  close(): Promise<void> {
    return this.external.close();
  }

  /** An HTTPEndpoint name or URL first, then <id>[.<namespace>] as daprd splits it. */
  private target(id: string): Target {
    if (!id) throw new Error('app id is empty');
    const external = this.external.find(id);
    if (external) return { kind: 'external', ...external };
    // A local function is reached directly, as an HTTPEndpoint is, under the app policies for its id.
    const fn = this.functions?.(id);
    if (fn) return { kind: 'external', invoker: fn };
    const parts = id.split('.');
    if (parts.length > 2) throw new Error(`invalid app id ${id}`);
    const [appId, namespace = this.ctx.namespace] = parts as [string, string?];
    return appId === this.ctx.appId && namespace === this.ctx.namespace ? { kind: 'local' } : { kind: 'remote', id: appId, namespace };
  }

  private headersFor(target: Target, req: InvokeRequest) {
    if (target.kind === 'external') return invocationHeaders(req.headers);
    if (target.kind === 'local') return invocationHeaders(req.headers, { caller: this.ctx.appId, callee: this.ctx.appId });
    return invocationHeaders(req.headers, { caller: this.ctx.appId, callee: target.id, namespace: this.ctx.namespace }, true);
  }

  private async invokerFor(target: Target, id: string): Promise<Invoker> {
    switch (target.kind) {
      case 'external':
        return target.invoker;
      case 'local':
        return { invoke: (req, signal) => this.callLocal(req, signal) };
      case 'remote':
        if (!this.remote) throw new Error(`couldn't find service: ${id}`);
        return this.remote(target.id, target.namespace);
    }
  }
}
