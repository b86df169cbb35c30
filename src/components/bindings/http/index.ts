// bindings.http (output): one HTTP request per invocation to the configured `url`, as contrib's
// http binding sends it. The operation is the method ("create" = POST); request metadata `path` is
// appended to the URL, keys starting with a capital letter become headers, trace context travels
// as headers. The response metadata is statusCode, status and the response headers; a status
// outside 2xx is an error (unless errorIfNot2XX is false) that still carries that metadata.
import { readFileSync } from 'node:fs';
import { STATUS_CODES } from 'node:http';
import { Agent, type Dispatcher } from 'undici';
import { z } from 'zod';
import { parseQuantity } from '../../quantity';
import { durationMs, parseMetadata } from '../../metadata';
import { ComponentConfigError, type ComponentMetadata } from '../../types';
import { BindingInvokeError, type BindingInvokeRequest, type BindingInvokeResponse, type OutputBinding } from '../types';
import { canonicalHeaderKey, goRequestError } from './go-text';

const OPERATIONS = ['create', 'get', 'head', 'post', 'put', 'patch', 'delete', 'options', 'trace'] as const;
const WITH_BODY = new Set(['POST', 'PUT', 'PATCH']);
const TRACE_KEYS = ['traceparent', 'tracestate', 'baggage'];
const JSON_UTF8 = 'application/json; charset=utf-8';

const schema = z.object({
  url: z.string({ error: 'url is required' }),
  responseTimeout: durationMs().optional(),
  /** Bytes or a quantity ("100Mi"); <= 0 reads the whole body. */
  maxResponseBodySize: z
    .string()
    .transform((v, ctx) => {
      try {
        return /^-?\d+$/.test(v.trim()) ? Number(v) : parseQuantity(v);
      } catch (e) {
        ctx.addIssue({ code: 'custom', message: (e as Error).message });
        return z.NEVER;
      }
    })
    .default(100 * 1024 * 1024),
  MTLSRootCA: z.string().optional(),
  MTLSClientCert: z.string().optional(),
  MTLSClientKey: z.string().optional(),
  securityToken: z.string().optional(),
  securityTokenHeader: z.string().optional(),
  errorIfNot2XX: z.stringbool().default(true),
});
type HttpBindingConfig = z.infer<typeof schema>;

/** A PEM value, or a path to a file holding it (contrib accepts both). */
function pem(field: string, value: string): string {
  if (value.includes('-----BEGIN')) return value;
  try {
    return readFileSync(value, 'utf8');
  } catch (e) {
    throw new ComponentConfigError(`provided "${field}" value is neither a valid file path nor a valid pem encoded string: ${(e as Error).message}`, field);
  }
}

const truthy = (v: string): boolean => ['y', 'yes', 'true', 't', 'on', '1'].includes(v.trim().toLowerCase());

export class HttpOutputBinding implements OutputBinding {
  private cfg?: HttpBindingConfig;
  private agent?: Agent;

  async init(md: ComponentMetadata): Promise<void> {
    const cfg = parseMetadata(schema, md.properties);
    const tls: { ca?: string; cert?: string; key?: string } = {};
    if (cfg.MTLSRootCA) tls.ca = pem('MTLSRootCA', cfg.MTLSRootCA);
    if (cfg.MTLSClientCert && cfg.MTLSClientKey) {
      tls.cert = pem('MTLSClientCert', cfg.MTLSClientCert);
      tls.key = pem('MTLSClientKey', cfg.MTLSClientKey);
    }
    // No overall timeout (contrib: responseTimeout per request only); 15 s to connect as contrib's dialer.
    this.agent = new Agent({ connect: { timeout: 15_000, ...tls }, headersTimeout: 0, bodyTimeout: 0 });
    this.cfg = cfg;
  }

  features(): readonly string[] {
    return [];
  }

  operations(): readonly string[] {
    return OPERATIONS;
  }

  async invoke(req: BindingInvokeRequest): Promise<BindingInvokeResponse> {
    const cfg = this.config();
    const md = req.metadata;
    let url = cfg.url;
    if (md.path) url = `${url.replace(/\/+$/, '')}/${md.path.replace(/^\/+/, '')}`;
    const errorIfNot2XX = md.errorIfNot2XX ? truthy(md.errorIfNot2XX) : cfg.errorIfNot2XX;
    const method = req.operation.toUpperCase() === 'CREATE' ? 'POST' : req.operation.toUpperCase();
    if (!(OPERATIONS as readonly string[]).includes(method.toLowerCase())) throw new Error(`invalid operation: ${req.operation}`);

    const headers: Record<string, string> = {};
    if (WITH_BODY.has(method) && !('Content-Type' in md)) headers['Content-Type'] = JSON_UTF8;
    if (!('Accept' in md)) headers.Accept = JSON_UTF8;
    if (cfg.securityToken && cfg.securityTokenHeader) headers[canonicalHeaderKey(cfg.securityTokenHeader)] = cfg.securityToken;
    for (const [k, v] of Object.entries(md)) if (/^[A-Z]/.test(k)) headers[canonicalHeaderKey(k)] = v;
    for (const k of TRACE_KEYS) if (md[k]) headers[canonicalHeaderKey(k)] = md[k];

    const signals = [req.signal, cfg.responseTimeout ? AbortSignal.timeout(cfg.responseTimeout) : undefined].filter((s): s is AbortSignal => s !== undefined);
    let res: Dispatcher.ResponseData;
    try {
      const target = new URL(url);
      res = await this.agent!.request({
        origin: target.origin,
        path: target.pathname + target.search,
        method: method as Dispatcher.HttpMethod,
        headers,
        body: WITH_BODY.has(method) ? req.data : undefined,
        signal: signals.length > 1 ? AbortSignal.any(signals) : signals[0],
      });
    } catch (e) {
      throw new Error(goRequestError(method, url, e));
    }
    const data = await readLimited(res.body, cfg.maxResponseBodySize);
    const metadata: Record<string, string> = { statusCode: String(res.statusCode), status: `${res.statusCode} ${STATUS_CODES[res.statusCode] ?? ''}`.trim() };
    for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) metadata[canonicalHeaderKey(k)] = Array.isArray(v) ? v.join(', ') : v;
    const response = { data, metadata };
    if (errorIfNot2XX && Math.floor(res.statusCode / 100) !== 2) throw new BindingInvokeError(`received status code ${res.statusCode}`, response);
    return response;
  }

  async close(): Promise<void> {
    const agent = this.agent;
    this.agent = undefined;
    await agent?.close();
  }

  private config(): HttpBindingConfig {
    if (!this.cfg || !this.agent) throw new Error('http binding is not initialized');
    return this.cfg;
  }
}

/** The body up to `limit` bytes (<= 0: all of it); the rest is discarded, as contrib's LimitReader does. */
async function readLimited(body: Dispatcher.ResponseData['body'], limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    if (limit > 0 && size + chunk.length >= limit) {
      chunks.push(chunk.subarray(0, limit - size));
      size = limit;
      body.destroy();
      break;
    }
    chunks.push(chunk);
    size += chunk.length;
  }
  return Buffer.concat(chunks, size);
}
