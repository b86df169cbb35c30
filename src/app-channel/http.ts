// The HTTP app channel (daprd's pkg/channel/http + the HTTP pub/sub postman): one undici
// dispatcher per app. http/https use a Pool of HTTP/1.1 connections (https without certificate
// checks, as daprd's app TLS skips verification); h2c uses undici's H2CClient, real HTTP/2 with
// prior knowledge over one multiplexed connection. No request timeouts: like daprd, a slow app is
// waited for (resiliency policies are the caller's business).
import { finished } from 'node:stream/promises';
import { H2CClient, Pool, type Dispatcher } from 'undici';
import { requestHeaders, requestPath, responseOf } from '../core/invoke/http-wire';
import { letEnd } from '../core/invoke/replay';
import type { InvokeRequest, InvokeResponse } from '../core/invoke/types';
import { WholeResponse } from '../core/invoke/whole-response';
import { Semaphore } from './concurrency';
import { deliveryHeaders, withPubsubName } from './headers';
import { parseSubscribeResponse } from './http-subscriptions';
import { goField, isJsonObject } from './json-fields';
import { bindingReplyFromHttp } from './binding-replies';
import type { AppBindingEvent, AppBindingReply, AppBulkEvent, AppChannel, AppChannelOptions, AppEventStatus, AppSubscription, AppTopicEvent } from './types';

export const CLOUDEVENT_CONTENT_TYPE = 'application/cloudevents+json';
export const BULK_EVENT_TYPE = 'com.dapr.event.sent.bulk';

const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const BAD_HEADER_VALUE = /[\r\n\0]/;
/** Set by the channel itself, or refused by undici/HTTP/2: never taken from broker metadata. */
const NOT_FORWARDED = new Set([
  'host', 'content-length', 'content-type', 'transfer-encoding', 'connection', 'keep-alive',
  'upgrade', 'expect', 'te', 'trailer', 'proxy-connection', 'http2-settings',
]);

/** Delivery headers an HTTP request can carry (invalid names/values are skipped, not fatal). */
function httpHeaders(pairs: Map<string, string>, contentType: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of pairs) {
    if (HEADER_NAME.test(k) && !BAD_HEADER_VALUE.test(v) && !NOT_FORWARDED.has(k)) out[k] = v;
  }
  out['content-type'] = contentType;
  return out;
}

/** daprd builds the URL as base + (method starting with '/' ? '' : '/') + method. */
export const appPath = (path: string): string => (path.startsWith('/') ? path : `/${path}`);

const is2xx = (status: number) => status >= 200 && status <= 299;

/** An app answer to one event, by daprd's HTTP postman contract. */
export function eventStatusFromHttp(statusCode: number, body: string): AppEventStatus {
  if (is2xx(statusCode)) {
    let json: unknown;
    try {
      json = JSON.parse(body);
    } catch {
      return 'SUCCESS'; // empty or non-JSON body
    }
    if (json === null) return 'SUCCESS';
    if (!isJsonObject(json)) return 'SUCCESS'; // Go fails to decode it and acks
    const status = goField(json, 'status');
    if (status === undefined || status === '' || status === 'SUCCESS') return 'SUCCESS';
    if (typeof status !== 'string') return 'SUCCESS'; // a decode error in Go: acked too
    if (status === 'DROP') return 'DROP';
    return 'RETRY'; // RETRY, or a status daprd does not know
  }
  return statusCode === 404 ? 'DROP' : 'RETRY';
}

/** The per-entry answer to a bulk event: a missing, empty or unknown status is RETRY. */
export function bulkStatusesFromHttp(statusCode: number, body: string, entryIds: string[]): Map<string, AppEventStatus> {
  const out = new Map<string, AppEventStatus>(entryIds.map((id) => [id, statusCode === 404 ? 'DROP' : 'RETRY']));
  if (!is2xx(statusCode)) return out;
  const answered = new Map<string, AppEventStatus>();
  try {
    const json: unknown = JSON.parse(body);
    if (json === null) return out;
    if (!isJsonObject(json)) return out;
    const statuses = goField(json, 'statuses');
    if (statuses === undefined) return out;
    if (!Array.isArray(statuses)) return out;
    for (const item of statuses) {
      if (item === null) continue;
      if (!isJsonObject(item)) return out;
      const id = goField(item, 'entryId') ?? '';
      const status = goField(item, 'status') ?? '';
      if (typeof id !== 'string' || typeof status !== 'string') return out; // Go: the whole answer fails
      if (!out.has(id)) continue; // an entry id that was not sent: ignored
      answered.set(id, status === 'SUCCESS' ? 'SUCCESS' : status === 'DROP' ? 'DROP' : 'RETRY');
    }
  } catch {
    return out; // empty or non-JSON body: every entry is retried
  }
  for (const [id, s] of answered) out.set(id, s);
  return out;
}

function hostForUrl(address: string): string {
  return address.includes(':') && !address.startsWith('[') ? `[${address}]` : address;
}

const originOf = (opts: AppChannelOptions): string =>
  `${opts.protocol.toLowerCase() === 'https' ? 'https' : 'http'}://${hostForUrl(opts.address)}:${opts.port}`;

function makeDispatcher(opts: AppChannelOptions): Dispatcher {
  const protocol = opts.protocol.toLowerCase();
  const origin = originOf(opts);
  const common = { headersTimeout: 0, bodyTimeout: 0 };
  if (protocol === 'h2c') return new H2CClient(origin, common);
  if (protocol === 'https') return new Pool(origin, { ...common, connect: { rejectUnauthorized: false } });
  return new Pool(origin, common);
}

const excerpt = (text: string) => (text.length > 200 ? `${text.slice(0, 200)}…` : text);

/** Answers up to this many bytes (by Content-Length) are read whole before they are handed on. */
const WHOLE_LIMIT = 64 * 1024;
const DONE = () => Promise.resolve();
const readWhole = (verb: string, length: string | string[] | undefined): boolean =>
  verb !== 'HEAD' && typeof length === 'string' && length.length <= 5 && Number(length) <= WHOLE_LIMIT;

export class HttpAppChannel implements AppChannel {
  readonly kind = 'http';
  private readonly dispatcher: Dispatcher;
  private readonly slots: Semaphore;

  constructor(private readonly opts: AppChannelOptions) {
    this.dispatcher = makeDispatcher(opts);
    this.slots = new Semaphore(opts.maxConcurrency);
  }

  /** One call into the app, holding a concurrency slot until the whole answer is read. */
  private send(method: 'GET' | 'POST', path: string, headers: Record<string, string>, body?: string | Buffer) {
    return this.slots.run(async () => {
      const res = await this.dispatcher.request({ method, path, headers, body });
      return { status: res.statusCode, text: await res.body.text() };
    });
  }

  async listSubscriptions(): Promise<AppSubscription[]> {
    const headers: Record<string, string> = { 'dapr-app-id': this.opts.appId, 'content-type': 'application/json' };
    if (this.opts.appApiToken) headers['dapr-api-token'] = this.opts.appApiToken;
    const { status, text } = await this.send('GET', '/dapr/subscribe', headers);
    if (status === 404) return [];
    if (!is2xx(status)) {
      throw new Error(`the app answered GET /dapr/subscribe with HTTP ${status}${text ? `: ${excerpt(text)}` : ''}`);
    }
    return parseSubscribeResponse(text);
  }

  async deliverEvent(ev: AppTopicEvent): Promise<AppEventStatus> {
    const pairs = deliveryHeaders({ metadata: ev.metadata, pubsubName: ev.pubsubName, cloudEvent: ev.cloudEvent, trace: ev.trace, appApiToken: this.opts.appApiToken });
    const body = ev.body ?? JSON.stringify(ev.cloudEvent);
    const { status, text } = await this.send('POST', appPath(ev.path), httpHeaders(pairs, CLOUDEVENT_CONTENT_TYPE), body);
    return eventStatusFromHttp(status, text);
  }

  async deliverBulk(ev: AppBulkEvent): Promise<Map<string, AppEventStatus>> {
    const metadata = withPubsubName(ev.metadata, ev.pubsubName);
    const envelope = {
      id: ev.id,
      type: BULK_EVENT_TYPE,
      topic: ev.topic,
      pubsubname: ev.pubsubName,
      metadata,
      entries: ev.entries.map((e) => {
        const raw = Buffer.isBuffer(e.event);
        return {
          entryId: e.entryId,
          // Raw payloads travel base64-encoded (daprd: base64.StdEncoding of the bytes).
          event: raw ? (e.event as Buffer).toString('base64') : e.event,
          metadata: e.metadata,
          contentType: e.contentType || (raw ? 'application/octet-stream' : CLOUDEVENT_CONTENT_TYPE),
        };
      }),
    };
    const pairs = deliveryHeaders({ metadata: ev.metadata, pubsubName: ev.pubsubName, appApiToken: this.opts.appApiToken });
    const { status, text } = await this.send('POST', appPath(ev.path), httpHeaders(pairs, 'application/json'), JSON.stringify(envelope));
    return bulkStatusesFromHttp(status, text, ev.entries.map((e) => e.entryId));
  }

  /** daprd's probe: OPTIONS on the binding's route, listening when 2xx or 405 (the route exists). */
  async listensToBinding(_name: string, route: string): Promise<boolean> {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (this.opts.appApiToken) headers['dapr-api-token'] = this.opts.appApiToken;
    const status = await this.slots.run(async () => {
      const res = await this.dispatcher.request({ method: 'OPTIONS', path: appPath(route), headers });
      await res.body.dump();
      return res.statusCode;
    });
    return is2xx(status) || status === 405;
  }

  /** POST /<route>: the event's bytes as the body (sent as JSON, as daprd labels it), its metadata as headers. */
  async deliverBindingEvent(ev: AppBindingEvent): Promise<AppBindingReply> {
    const pairs = new Map(Object.entries(ev.metadata).map(([k, v]) => [k.toLowerCase(), v]));
    if (this.opts.appApiToken) pairs.set('dapr-api-token', this.opts.appApiToken);
    const { status, body } = await this.slots.run(async () => {
      const res = await this.dispatcher.request({ method: 'POST', path: appPath(ev.route), headers: httpHeaders(pairs, 'application/json'), body: ev.data });
      return { status: res.statusCode, body: Buffer.from(await res.body.arrayBuffer()) };
    });
    if (!is2xx(status)) {
      throw new Error(`fails to send binding event to http app channel, status code: ${status} body: ${excerpt(body.toString('utf8'))}`);
    }
    return bindingReplyFromHttp(body);
  }

  /** A service invocation: the request streamed to the app, its answer streamed back. */
  invoke(req: InvokeRequest, signal?: AbortSignal): Promise<InvokeResponse> {
    // Go's HTTP client cannot send CONNECT; NONE is no verb at all (daprd: "invalid HTTP verb").
    if (!req.verb || req.verb === 'NONE' || req.verb === 'CONNECT') return Promise.reject(new Error('invalid HTTP verb'));
    const path = requestPath('', req.method, req.query);
    const headers = requestHeaders(req, this.opts.appApiToken ? { 'dapr-api-token': this.opts.appApiToken } : {});
    // A body known to be empty goes out as none: handed an (ended) stream, undici keeps every call's
    // objects alive through young-generation GCs (--trace-gc-nvp, one call at a time through
    // fastify: ~3 MB surviving each scavenge against ~0.01 MB without it, 6.6 ms scavenges against
    // 0.7 ms), and a GET would carry a chunked empty body besides.
    const empty = req.length === 0;
    if (empty) letEnd(req.body);
    return this.slots.hold(async () => {
      try {
        const res = await this.dispatcher.request({ method: req.verb, path, headers, body: empty ? undefined : req.body, signal });
        const out = responseOf(res);
        if (!readWhole(req.verb, res.headers['content-length'])) return { value: out, done: () => finished(res.body) };
        // A small answer of known length is read here: it travels on as one buffer, no stream per hop.
        const whole = Buffer.from(await res.body.arrayBuffer());
        return { value: new WholeResponse(out.status, out.headers, out.contentType, whole), done: DONE };
      } catch (e) {
        if (signal?.aborted) throw e;
        // As Go words a client error: the request, then the cause.
        throw new Error(`${req.verb} "${originOf(this.opts)}${path}": ${(e as Error).message}`, { cause: e });
      }
    });
  }

  /**
   * GET --app-health-check-path; healthy on 2xx (outside the concurrency cap, as daprd probes).
   * Carries APP_API_TOKEN, which daprd's probe leaves out, so an app that checks it on every call stays healthy.
   */
  async probeHealth(signal: AbortSignal): Promise<boolean> {
    try {
      const headers = this.opts.appApiToken ? { 'dapr-api-token': this.opts.appApiToken } : {};
      const res = await this.dispatcher.request({ method: 'GET', path: appPath(this.opts.healthCheckPath ?? '/healthz'), headers, signal });
      await res.body.dump();
      return is2xx(res.statusCode);
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    await this.dispatcher.close();
  }
}
