// GrpcAppChannel.invoke and probeHealth against a grpc-js app serving Dapr's AppCallback and
// AppCallbackHealthCheck (loaded from the @dapr/dapr protos): the InvokeRequest the app gets, its
// call metadata, and every way the call can end as daprd's gRPC channel reports it.
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { Readable } from 'node:stream';
import { LOADER_OPTIONS } from '../api/dapr-grpc/protos';
import type { InvokeRequest } from '../core/invoke/types';
import { DAPR_APPCALLBACK_PROTO, GrpcAppChannel } from './grpc';

type Json = Record<string, unknown>;
type Answer = (call: grpc.ServerUnaryCall<Json, Json>, cb: grpc.sendUnaryData<Json>) => void;

let server: grpc.Server;
let port: number;
let onInvoke: Answer;
let healthy = true;
const calls: { request: Json; metadata: grpc.Metadata }[] = [];

beforeAll(async () => {
  const def = protoLoader.loadSync(DAPR_APPCALLBACK_PROTO, LOADER_OPTIONS);
  const svc = (name: string) => (def[`dapr.proto.runtime.v1.${name}`] as grpc.ServiceDefinition);
  server = new grpc.Server();
  server.addService(svc('AppCallback'), {
    OnInvoke: (call: grpc.ServerUnaryCall<Json, Json>, cb: grpc.sendUnaryData<Json>) => {
      calls.push({ request: call.request, metadata: call.metadata });
      onInvoke(call, cb);
    },
  });
  server.addService(svc('AppCallbackHealthCheck'), {
    HealthCheck: (_call: unknown, cb: grpc.sendUnaryData<Json>) => (healthy ? cb(null, {}) : cb({ code: grpc.status.UNAVAILABLE, details: 'not yet' })),
  });
  port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
});
afterAll(() => new Promise<void>((r) => server.tryShutdown(() => r())));
beforeEach(() => (calls.length = 0));

const channelOf = () => new GrpcAppChannel({ address: '127.0.0.1', port, protocol: 'grpc', appId: 'app', appApiToken: 'app-secret', maxBodySize: 8 * 1024 * 1024 });

const req = (over: Partial<InvokeRequest> = {}): InvokeRequest => ({
  appId: 'app',
  method: 'sum',
  verb: 'POST',
  query: 'a=1',
  headers: { 'x-one': ['1'], accept: ['application/json'], 'trace-bin': [Buffer.from([0, 1]).toString('base64')], 'user-agent': ['curl'] },
  contentType: 'application/json',
  body: Readable.from([Buffer.from('[1,'), Buffer.from('2]')]),
  length: 5,
  ...over,
});

const text = async (r: { body: Readable }) => Buffer.concat(await r.body.toArray()).toString();

describe('GrpcAppChannel.invoke', () => {
  it('sends OnInvoke(method, data, content_type, http_extension) with the headers as metadata and the app token', async () => {
    onInvoke = (call, cb) => {
      const md = new grpc.Metadata();
      md.set('x-answer', 'h');
      call.sendMetadata(md);
      const trailer = new grpc.Metadata();
      trailer.set('x-trailer', 't');
      cb(null, { data: { type_url: 'type.googleapis.com/x.Y', value: Buffer.from('3') }, content_type: 'text/plain' }, trailer);
    };
    const channel = channelOf();
    const res = await channel.invoke(req({ dataTypeUrl: 'type.googleapis.com/x.In' }));
    const { request, metadata } = calls[0]!;
    expect(request).toMatchObject({ method: 'sum', content_type: 'application/json', http_extension: { verb: 'POST', querystring: 'a=1' } });
    expect(request.data).toEqual({ type_url: 'type.googleapis.com/x.In', value: Buffer.from('[1,2]') });
    expect(metadata.get('x-one')).toEqual(['1']);
    expect(metadata.get('dapr-accept')).toEqual(['application/json']); // daprd renames permanent HTTP headers
    expect(metadata.get('trace-bin')).toEqual([Buffer.from([0, 1])]);
    expect(metadata.get('dapr-api-token')).toEqual(['app-secret']);
    expect(metadata.get('user-agent')[0]).not.toBe('curl');
    expect([res.status, res.grpc, res.contentType, res.dataTypeUrl, await text(res)]).toEqual([200, { code: 0, message: '' }, 'text/plain', 'type.googleapis.com/x.Y', '3']);
    expect(res.headers['x-answer']).toEqual(['h']);
    expect(res.trailers!['x-trailer']).toEqual(['t']);
    await channel.close();
  });

  it('an unknown verb goes as POST; an empty answer has an empty body', async () => {
    onInvoke = (_call, cb) => cb(null, {});
    const channel = channelOf();
    const res = await channel.invoke(req({ verb: 'PROPFIND' }));
    expect((calls[0]!.request.http_extension as Json).verb).toBe('POST');
    expect([res.status, res.contentType, await text(res)]).toEqual([200, '', '']);
    await channel.close();
  });

  it.each([
    [grpc.status.NOT_FOUND, 404],
    [grpc.status.INVALID_ARGUMENT, 400],
    [grpc.status.FAILED_PRECONDITION, 400],
    [grpc.status.PERMISSION_DENIED, 403],
    [grpc.status.UNIMPLEMENTED, 501],
    [grpc.status.INTERNAL, 500],
  ])('an app status %s is an answer: HTTP %s, the status as JSON', async (code, http) => {
    onInvoke = (_call, cb) => cb({ code, details: 'nope' });
    const channel = channelOf();
    const res = await channel.invoke(req());
    expect([res.status, res.grpc, res.contentType, JSON.parse(await text(res))]).toEqual([http, { code, message: 'nope' }, 'application/json', { code, message: 'nope' }]);
    await channel.close();
  });

  it('an app that is not listening: UNAVAILABLE as an answer (503), as daprd reports it', async () => {
    const channel = new GrpcAppChannel({ address: '127.0.0.1', port: 1, protocol: 'grpc', appId: 'app' });
    const res = await channel.invoke(req());
    expect(res.status).toBe(503);
    expect(res.grpc!.code).toBe(grpc.status.UNAVAILABLE);
    await channel.close();
  });

  it('an aborted call rejects', async () => {
    onInvoke = () => undefined; // never answers
    const channel = channelOf();
    const ac = new AbortController();
    const p = channel.invoke(req(), ac.signal);
    setTimeout(() => ac.abort(new Error('caller gave up')), 50);
    await expect(p).rejects.toThrow('caller gave up');
    await channel.close();
  });
});

describe('GrpcAppChannel.probeHealth', () => {
  it('AppCallbackHealthCheck.HealthCheck: OK healthy, an error or no answer unhealthy', async () => {
    const channel = channelOf();
    healthy = true;
    expect(await channel.probeHealth(AbortSignal.timeout(2000))).toBe(true);
    healthy = false;
    expect(await channel.probeHealth(AbortSignal.timeout(2000))).toBe(false);
    await channel.close();
    const down = new GrpcAppChannel({ address: '127.0.0.1', port: 1, protocol: 'grpc', appId: 'app' });
    expect(await down.probeHealth(AbortSignal.timeout(500))).toBe(false);
    await down.close();
  });
});
