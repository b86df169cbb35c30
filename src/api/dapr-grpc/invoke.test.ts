// InvokeService on the Dapr gRPC face (and, at the end, on the Layotto face) over real grpc-js
// servers and clients, with the core's app channel replaced by a scripted invoker: the request
// the core gets, and how HTTP-app and gRPC-app answers come back as daprd (or Layotto) shapes them.
import * as grpc from '@grpc/grpc-js';
import * as protobuf from 'protobufjs';
import { Readable } from 'node:stream';
import { ComponentStore } from '../../components/store';
import { type Core, createCore } from '../../core';
import type { InvokeRequest, InvokeResponse } from '../../core/invoke/types';
import { addLayottoServices } from '../layotto-grpc/service';
import { loadLayottoDefinition, PACKAGE } from '../layotto-grpc/protos';
import { daprClientConstructor } from './protos';
import { addDaprService } from './service';

type Json = Record<string, unknown>;
type Unary = (req: Json, md: grpc.Metadata, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res: Json) => void) => grpc.ClientUnaryCall;

let core: Core;
let server: grpc.Server;
let dapr: grpc.Client;
let layotto: grpc.Client;
let calls: { req: InvokeRequest; body: string; signal?: AbortSignal }[];
let respond: (req: InvokeRequest, signal?: AbortSignal) => Promise<InvokeResponse>;

const answer = (over: Partial<InvokeResponse> = {}, body = 'pong'): InvokeResponse => ({ status: 200, headers: {}, contentType: 'text/plain', body: Readable.from([Buffer.from(body)]), ...over });

beforeAll(async () => {
  core = createCore({ components: new ComponentStore(), appId: 'me', namespace: '', runtimeVersion: 't' }, { protocol: 'http', channelAddress: '127.0.0.1' });
  core.invoke.setAppChannel({
    invoke: async (req, signal) => {
      calls.push({ req, body: Buffer.concat(await req.body.toArray()).toString(), signal });
      return respond(req, signal);
    },
  });
  server = new grpc.Server();
  addDaprService(server, core);
  addLayottoServices(server, core);
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  dapr = new (daprClientConstructor())(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  const Runtime = grpc.makeClientConstructor(loadLayottoDefinition()[`${PACKAGE}.Runtime`] as grpc.ServiceDefinition, 'Runtime');
  layotto = new Runtime(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
});
afterAll(async () => {
  dapr.close();
  layotto.close();
  await new Promise<void>((r) => server.tryShutdown(() => r()));
});
beforeEach(() => {
  calls = [];
  respond = async () => answer();
});

interface Outcome {
  err: grpc.ServiceError | null;
  res?: Json;
  headers?: grpc.Metadata;
}

function call(client: grpc.Client, rpc: string, req: Json, md = new grpc.Metadata()): Promise<Outcome> {
  return new Promise((resolve) => {
    let headers: grpc.Metadata | undefined;
    const c = ((client as unknown as Record<string, Unary>)[rpc]!).call(client, req, md, {}, (err, res) => resolve({ err, res, headers }));
    c.on('metadata', (m) => (headers = m));
  });
}

const daprInvoke = (message: Json, md?: grpc.Metadata, id = 'me') => call(dapr, 'InvokeService', { id, message }, md);

describe('Dapr InvokeService', () => {
  it('passes method, data, content type, verb, query string and metadata to the core', async () => {
    const md = new grpc.Metadata();
    md.set('x-caller', 'c1');
    const out = await daprInvoke({ method: 'orders/1', data: { type_url: 'type.googleapis.com/x.Y', value: Buffer.from('ping') }, content_type: 'text/plain', http_extension: { verb: 'PUT', querystring: 'a=1' } }, md);
    expect(out.err).toBeNull();
    const { req, body } = calls[0]!;
    expect([req.appId, req.method, req.verb, req.query, req.contentType, req.length, req.dataTypeUrl, body]).toEqual(['me', 'orders/1', 'PUT', 'a=1', 'text/plain', 4, 'type.googleapis.com/x.Y', 'ping']);
    expect(req.headers['x-caller']).toEqual(['c1']);
    expect(req.headers['content-type']).toBeUndefined(); // application/grpc belongs to the transport
  });

  it('no http_extension: POST', async () => {
    await daprInvoke({ method: 'm' });
    expect(calls[0]!.req.verb).toBe('POST');
  });

  it('an HTTP app answering 2xx: data and content type, dapr-http-status and its headers (permanent ones renamed) as header metadata', async () => {
    respond = async () => answer({ status: 201, headers: { 'x-app': ['1'], date: ['today'] }, contentType: 'application/json' }, '{"ok":1}');
    const out = await daprInvoke({ method: 'm' });
    expect(out.err).toBeNull();
    expect(out.res).toMatchObject({ content_type: 'application/json', data: { value: Buffer.from('{"ok":1}') } });
    expect(out.headers!.get('dapr-http-status')).toEqual(['201']);
    expect(out.headers!.get('x-app')).toEqual(['1']);
    expect(out.headers!.get('dapr-date')).toEqual(['today']);
  });

  it.each([
    [404, grpc.status.NOT_FOUND, 'Not Found'],
    [400, grpc.status.INTERNAL, 'Bad Request'],
    [500, grpc.status.UNKNOWN, 'Internal Server Error'],
    [503, grpc.status.UNAVAILABLE, 'Service Unavailable'],
    // Go's http.StatusText, as daprd words it (Node's STATUS_CODES says "I'm a Teapot").
    [418, grpc.status.UNKNOWN, "I'm a teapot"],
    [413, grpc.status.UNKNOWN, 'Request Entity Too Large'],
  ])('an HTTP app answering %s: gRPC %s "%s" with ErrorInfo{http.code, http.error_message}', async (status, code, text) => {
    const long = 'e'.repeat(100);
    respond = async () => answer({ status }, long);
    const out = await daprInvoke({ method: 'm' });
    expect([out.err?.code, out.err?.details]).toEqual([code, text]);
    expect(out.headers!.get('dapr-http-status')).toEqual([String(status)]);
    const root = protobuf.Root.fromJSON({
      nested: { Status: { fields: { code: { type: 'int32', id: 1 }, message: { type: 'string', id: 2 }, details: { rule: 'repeated', type: 'Any', id: 3 } } }, Any: { fields: { type_url: { type: 'string', id: 1 }, value: { type: 'bytes', id: 2 } } }, ErrorInfo: { fields: { reason: { type: 'string', id: 1 }, domain: { type: 'string', id: 2 }, metadata: { keyType: 'string', type: 'string', id: 3 } as protobuf.IField } } },
    });
    const st = root.lookupType('Status').decode(out.err!.metadata.get('grpc-status-details-bin')[0] as Buffer) as unknown as { details: { value: Uint8Array }[] };
    const info = root.lookupType('ErrorInfo').toObject(root.lookupType('ErrorInfo').decode(st.details[0]!.value));
    expect(info).toEqual({ reason: text, domain: 'dapr.io', metadata: { 'http.code': String(status), 'http.error_message': 'e'.repeat(63) } });
  });

  it("a gRPC app's status is the call's status; its answer's type_url comes back", async () => {
    respond = async () => answer({ status: 404, grpc: { code: grpc.status.NOT_FOUND, message: 'no such order' } });
    let out = await daprInvoke({ method: 'm' });
    expect([out.err?.code, out.err?.details]).toEqual([grpc.status.NOT_FOUND, 'no such order']);
    respond = async () => answer({ grpc: { code: 0, message: '' }, headers: { 'x-g': ['1'] }, dataTypeUrl: 'type.googleapis.com/a.B' }, 'bin');
    out = await daprInvoke({ method: 'm' });
    expect(out.res).toMatchObject({ data: { type_url: 'type.googleapis.com/a.B', value: Buffer.from('bin') } });
    expect(out.headers!.get('x-g')).toEqual(['1']);
    expect(out.headers!.get('dapr-http-status')).toEqual([]);
  });

  it('errors reaching the target: INTERNAL "failed to invoke, id: ..."', async () => {
    let out = await daprInvoke({ method: 'm' }, undefined, 'nobody');
    expect([out.err?.code, out.err?.details]).toEqual([grpc.status.INTERNAL, "failed to invoke, id: nobody, err: couldn't find service: nobody"]);
    out = await daprInvoke({ method: 'm' }, undefined, '');
    expect([out.err?.code, out.err?.details]).toEqual([grpc.status.INTERNAL, 'failed to invoke, id: , err: app id is empty']);
    respond = () => Promise.reject(new Error('connect ECONNREFUSED'));
    out = await daprInvoke({ method: 'm' });
    expect(out.err?.details).toBe('failed to invoke, id: me, err: connect ECONNREFUSED');
  });
});

const layottoInvoke = (message: Json, md?: grpc.Metadata, id = 'me') => call(layotto, 'InvokeService', { id, message }, md);

describe('Layotto InvokeService', () => {
  it('verb GET when none is given, the query string, metadata as headers plus `id`; 200 answers data and headers (no content-length)', async () => {
    respond = async () => answer({ headers: { 'x-app': ['1'], 'content-length': ['4'] }, contentType: 'text/plain' });
    const md = new grpc.Metadata();
    md.set('x-caller', 'c1');
    const out = await layottoInvoke({ method: 'hello', data: { value: Buffer.from('hi') }, content_type: 'text/plain', http_extension: { verb: 0, querystring: 'q=1' } }, md);
    expect(out.err).toBeNull();
    expect(out.res).toMatchObject({ content_type: 'text/plain', data: { value: Buffer.from('pong') } });
    expect(out.headers!.get('x-app')).toEqual(['1']);
    expect(out.headers!.get('content-length')).toEqual([]);
    const { req, body } = calls[0]!;
    expect([req.verb, req.query, req.method, body, req.headers.id, req.headers['x-caller']]).toEqual(['GET', 'q=1', 'hello', 'hi', ['me'], ['c1']]);
    await layottoInvoke({ method: 'x', http_extension: { verb: 3, querystring: '' } });
    expect(calls[1]!.req.verb).toBe('POST');
  });

  it('any answer but 200: UNAVAILABLE "http response code <n>, body: <body>"', async () => {
    respond = async () => answer({ status: 201 }, 'made');
    const out = await layottoInvoke({ method: 'x' });
    expect([out.err?.code, out.err?.details]).toEqual([grpc.status.UNAVAILABLE, 'http response code 201, body: made']);
  });

  it('rpc_request_timeout (ms) bounds the call: DEADLINE_EXCEEDED, and the target sees the abort', async () => {
    respond = (_req, signal) => new Promise((_, reject) => signal!.addEventListener('abort', () => reject(new Error('aborted'))));
    const md = new grpc.Metadata();
    md.set('rpc_request_timeout', '100');
    const t0 = Date.now();
    const out = await layottoInvoke({ method: 'slow' }, md);
    expect([out.err?.code, out.err?.details]).toEqual([grpc.status.DEADLINE_EXCEEDED, 'invoke timed out after 100ms']);
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(calls[0]!.signal!.aborted).toBe(true);
  });

  it('a target that cannot be reached: UNAVAILABLE with the cause', async () => {
    const out = await layottoInvoke({ method: 'x' }, undefined, 'nobody');
    expect([out.err?.code, out.err?.details]).toEqual([grpc.status.UNAVAILABLE, "couldn't find service: nobody"]);
  });
});
