// The gRPC app channel: one grpc-js channel per app, speaking either Dapr's
// dapr.proto.runtime.v1.AppCallback (daprd's gRPC postman) or Layotto's
// spec.proto.runtime.v1.AppCallback. Which one is learnt from ListTopicSubscriptions: Dapr's is
// asked first, Layotto's when that answers UNIMPLEMENTED. Until then (and when neither answers)
// the app is taken for a Dapr app.
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { LOADER_OPTIONS } from '../api/dapr-grpc/protos';
import { loadLayottoDefinition, PACKAGE as LAYOTTO_PACKAGE } from '../api/layotto-grpc/protos';
import { Semaphore } from './concurrency';
import { deliveryHeaders, withPubsubName } from './headers';
import {
  bulkStatusesFromGrpc,
  daprBulkRequest,
  daprTopicEventRequest,
  layottoEntryRequest,
  layottoTopicEventRequest,
  statusFromEnum,
  subscriptionsFromDapr,
  subscriptionsFromLayotto,
} from './grpc-messages';
import { invokeResponseOf, onInvokeRequest, type OnInvokeOutcome } from './grpc-invoke';
import { metadataOf } from '../api/grpc/invoke-metadata';
import type { InvokeRequest, InvokeResponse } from '../core/invoke/types';
import { bindingReplyFromGrpc } from './binding-replies';
import type { AppBindingEvent, AppBindingReply, AppBulkEvent, AppChannel, AppChannelOptions, AppEventStatus, AppSubscription, AppTopicEvent } from './types';

type Json = Record<string, unknown>;
type Method = grpc.MethodDefinition<Json, Json>;

export const DAPR_APPCALLBACK_PROTO = 'dapr/proto/runtime/v1/appcallback.proto';

interface Methods {
  dapr: { list: Method; onTopicEvent: Method; onBulk: Method; onBulkAlpha1: Method; onInvoke: Method; healthCheck: Method; listBindings: Method; onBindingEvent: Method };
  layotto: { list: Method; onTopicEvent: Method };
}

let methods: Methods | undefined;

/** The rpcs this channel calls, from the protos loaded once (Dapr's from @dapr/dapr, Layotto's from proto/layotto). */
function appCallbackMethods(): Methods {
  if (methods) return methods;
  const dapr = protoLoader.loadSync(DAPR_APPCALLBACK_PROTO, LOADER_OPTIONS);
  const daprService = (name: string) => dapr[`dapr.proto.runtime.v1.${name}`] as unknown as Record<string, Method>;
  const layotto = loadLayottoDefinition()[`${LAYOTTO_PACKAGE}.AppCallback`] as unknown as Record<string, Method>;
  methods = {
    dapr: {
      list: daprService('AppCallback').ListTopicSubscriptions!,
      onTopicEvent: daprService('AppCallback').OnTopicEvent!,
      onBulk: daprService('AppCallback').OnBulkTopicEvent!,
      onBulkAlpha1: daprService('AppCallbackAlpha').OnBulkTopicEventAlpha1!,
      onInvoke: daprService('AppCallback').OnInvoke!,
      healthCheck: daprService('AppCallbackHealthCheck').HealthCheck!,
      listBindings: daprService('AppCallback').ListInputBindings!,
      onBindingEvent: daprService('AppCallback').OnBindingEvent!,
    },
    layotto: { list: layotto.ListTopicSubscriptions!, onTopicEvent: layotto.OnTopicEvent! },
  };
  return methods;
}

const isUnimplemented = (e: unknown) => (e as grpc.ServiceError | undefined)?.code === grpc.status.UNIMPLEMENTED;

const METADATA_KEY = /^[0-9a-z_.-]+$/;
const METADATA_VALUE = /^[ -~]*$/;
const RESERVED = new Set(['content-type', 'te', 'user-agent', 'host', 'connection', 'transfer-encoding', 'keep-alive', 'upgrade']);

/** Delivery headers as call metadata; keys or values gRPC cannot carry as text are skipped. */
function toMetadata(pairs: Map<string, string>): grpc.Metadata {
  const md = new grpc.Metadata();
  for (const [k, v] of pairs) {
    if (!METADATA_KEY.test(k) || k.endsWith('-bin') || k.startsWith('grpc-') || RESERVED.has(k) || !METADATA_VALUE.test(v)) continue;
    md.set(k, v);
  }
  return md;
}

function target(address: string, port: number): string {
  return address.includes(':') && !address.startsWith('[') ? `[${address}]:${port}` : `${address}:${port}`;
}

export class GrpcAppChannel implements AppChannel {
  private flavour: 'grpc' | 'layotto' = 'grpc';
  /** Set once OnBulkTopicEvent answered UNIMPLEMENTED: later bulks go straight to the Alpha1 rpc. */
  private bulkAlpha1 = false;
  private readonly client: grpc.Client;
  private readonly slots: Semaphore;
  private readonly rpc = appCallbackMethods();
  /** ListInputBindings' answer, asked once (daprd keeps the first list too). */
  private inputBindings?: Promise<Set<string>>;

  constructor(private readonly opts: AppChannelOptions) {
    const credentials =
      opts.protocol.toLowerCase() === 'grpcs'
        ? // daprd talks TLS to a grpcs app without verifying its certificate.
          grpc.credentials.createSsl(null, null, null, { rejectUnauthorized: false, checkServerIdentity: () => undefined })
        : grpc.credentials.createInsecure();
    const limits = opts.maxBodySize ? { 'grpc.max_receive_message_length': opts.maxBodySize, 'grpc.max_send_message_length': opts.maxBodySize } : {};
    this.client = new grpc.Client(target(opts.address, opts.port), credentials, limits);
    this.slots = new Semaphore(opts.maxConcurrency);
  }

  /** 'grpc' (Dapr AppCallback) or 'layotto', as learnt by listSubscriptions(). */
  get kind(): string {
    return this.flavour;
  }

  private unary(method: Method, req: Json, md: grpc.Metadata): Promise<Json> {
    return this.slots.run(
      () =>
        new Promise<Json>((resolve, reject) => {
          try {
            this.client.makeUnaryRequest(method.path, method.requestSerialize, method.responseDeserialize, req, md, {}, (err, res) =>
              err ? reject(err) : resolve(res ?? {}),
            );
          } catch (e) {
            reject(e); // e.g. the channel is already closed, or a message that does not serialise
          }
        }),
    );
  }

  /** Metadata with only the app token (Layotto's callbacks carry nothing else as headers). */
  private tokenMetadata(): grpc.Metadata {
    const md = new grpc.Metadata();
    if (this.opts.appApiToken) md.set('dapr-api-token', this.opts.appApiToken);
    return md;
  }

  async listSubscriptions(): Promise<AppSubscription[]> {
    const services = [
      { flavour: 'grpc', list: this.rpc.dapr.list, parse: subscriptionsFromDapr },
      { flavour: 'layotto', list: this.rpc.layotto.list, parse: subscriptionsFromLayotto },
    ] as const;
    for (const service of services) {
      try {
        const res = await this.unary(service.list, {}, this.tokenMetadata());
        this.flavour = service.flavour;
        return service.parse(res);
      } catch (e) {
        if (!isUnimplemented(e)) throw e;
      }
    }
    this.flavour = 'grpc'; // neither lists subscriptions: a Dapr app without programmatic ones
    return [];
  }

  async deliverEvent(ev: AppTopicEvent): Promise<AppEventStatus> {
    const layotto = this.flavour === 'layotto';
    const method = layotto ? this.rpc.layotto.onTopicEvent : this.rpc.dapr.onTopicEvent;
    const req = layotto ? layottoTopicEventRequest(ev) : daprTopicEventRequest(ev);
    const md = layotto
      ? this.tokenMetadata()
      : toMetadata(deliveryHeaders({ metadata: ev.metadata, pubsubName: ev.pubsubName, cloudEvent: ev.cloudEvent, trace: ev.trace, appApiToken: this.opts.appApiToken }));
    try {
      return statusFromEnum((await this.unary(method, req, md)).status);
    } catch (e) {
      if (isUnimplemented(e)) return 'DROP';
      throw e;
    }
  }

  async deliverBulk(ev: AppBulkEvent): Promise<Map<string, AppEventStatus>> {
    return this.flavour === 'layotto' ? this.deliverBulkOneByOne(ev) : this.deliverBulkDapr(ev);
  }

  private async deliverBulkDapr(ev: AppBulkEvent): Promise<Map<string, AppEventStatus>> {
    const ids = ev.entries.map((e) => e.entryId);
    const req = daprBulkRequest(ev, withPubsubName(ev.metadata, ev.pubsubName));
    const md = () => toMetadata(deliveryHeaders({ metadata: ev.metadata, pubsubName: ev.pubsubName, appApiToken: this.opts.appApiToken }));
    try {
      if (!this.bulkAlpha1) {
        try {
          return bulkStatusesFromGrpc(await this.unary(this.rpc.dapr.onBulk, req, md()), ids);
        } catch (e) {
          if (!isUnimplemented(e)) throw e;
          this.bulkAlpha1 = true; // the @dapr/dapr JS server only has the Alpha1 rpc
        }
      }
      return bulkStatusesFromGrpc(await this.unary(this.rpc.dapr.onBulkAlpha1, req, md()), ids);
    } catch (e) {
      if (isUnimplemented(e)) return new Map(ids.map((id) => [id, 'DROP']));
      throw e;
    }
  }

  /** Layotto has no bulk rpc: each entry goes through OnTopicEvent, in order; a failed call is RETRY. */
  private async deliverBulkOneByOne(ev: AppBulkEvent): Promise<Map<string, AppEventStatus>> {
    const out = new Map<string, AppEventStatus>();
    for (const entry of ev.entries) {
      try {
        const res = await this.unary(this.rpc.layotto.onTopicEvent, layottoEntryRequest(ev, entry), this.tokenMetadata());
        out.set(entry.entryId, statusFromEnum(res.status));
      } catch (e) {
        out.set(entry.entryId, isUnimplemented(e) ? 'DROP' : 'RETRY');
      }
    }
    return out;
  }

  /** The name is in ListInputBindings' answer; an error (UNIMPLEMENTED: a Layotto app) lists none, as daprd. */
  async listensToBinding(name: string): Promise<boolean> {
    this.inputBindings ??= this.unary(this.rpc.dapr.listBindings, {}, this.tokenMetadata()).then(
      (res) => new Set(Array.isArray(res.bindings) ? res.bindings.filter((b): b is string => typeof b === 'string') : []),
      (e: unknown) => {
        if (!isUnimplemented(e)) this.inputBindings = undefined; // asked again by the next probe
        return new Set<string>();
      },
    );
    return (await this.inputBindings).has(name);
  }

  /** OnBindingEvent; any error status rejects (the component redelivers). */
  async deliverBindingEvent(ev: AppBindingEvent): Promise<AppBindingReply> {
    const res = await this.unary(this.rpc.dapr.onBindingEvent, { name: ev.name, data: ev.data, metadata: ev.metadata }, this.tokenMetadata());
    return bindingReplyFromGrpc(res);
  }

  /**
   * A service invocation through Dapr's AppCallback.OnInvoke (Layotto's AppCallback has none). The
   * body is read whole (one unary message); every outcome is an answer, never a rejection, except
   * an abort by the caller.
   */
  async invoke(req: InvokeRequest, signal?: AbortSignal): Promise<InvokeResponse> {
    const data = Buffer.concat(await req.body.toArray());
    signal?.throwIfAborted();
    const md = metadataOf(req.headers, { fromHttp: true });
    if (this.opts.appApiToken) md.set('dapr-api-token', this.opts.appApiToken);
    const method = this.rpc.dapr.onInvoke;
    const outcome = await this.slots.run(
      () =>
        new Promise<OnInvokeOutcome>((resolve, reject) => {
          const o: OnInvokeOutcome = {};
          let call: grpc.ClientUnaryCall;
          try {
            call = this.client.makeUnaryRequest(method.path, method.requestSerialize, method.responseDeserialize, onInvokeRequest(req, data), md, {}, (err, res) => {
              if (err) o.err = err;
              else o.res = res;
            });
          } catch (e) {
            reject(e);
            return;
          }
          const abort = () => call.cancel();
          signal?.addEventListener('abort', abort, { once: true });
          call.on('metadata', (m) => (o.headers = m));
          // 'status' follows the callback: the outcome is complete, trailers included.
          call.on('status', (s) => {
            signal?.removeEventListener('abort', abort);
            if (signal?.aborted) return reject(signal.reason);
            o.trailers = s.metadata;
            resolve(o);
          });
        }),
    );
    return invokeResponseOf(outcome);
  }

  /** AppCallbackHealthCheck.HealthCheck answering OK (outside the concurrency cap, as daprd probes), with APP_API_TOKEN. */
  probeHealth(signal: AbortSignal): Promise<boolean> {
    const method = this.rpc.dapr.healthCheck;
    const md = new grpc.Metadata();
    if (this.opts.appApiToken) md.set('dapr-api-token', this.opts.appApiToken);
    return new Promise((resolve) => {
      try {
        const call = this.client.makeUnaryRequest(method.path, method.requestSerialize, method.responseDeserialize, {}, md, {}, (err) => resolve(!err));
        signal.addEventListener('abort', () => call.cancel(), { once: true });
      } catch {
        resolve(false);
      }
    });
  }

  async close(): Promise<void> {
    this.client.close();
  }
}
