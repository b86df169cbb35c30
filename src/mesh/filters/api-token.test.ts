import * as protobuf from 'protobufjs';
import { status } from '@grpc/grpc-js';
import { exchange } from '../../../test/exchange';
import type { Exchange } from '../filter';
import { apiTokenFilter, grpcTokenGuard, isOpenHttp, tokenChecker } from './api-token';

/** The ErrorInfo inside a grpc-status-details-bin value. */
function errorInfo(bin: Buffer): { reason: string; domain: string; metadata: Record<string, string> } {
  const root = protobuf.Root.fromJSON({
    nested: {
      Any: { fields: { type_url: { type: 'string', id: 1 }, value: { type: 'bytes', id: 2 } } },
      Status: { fields: { code: { type: 'int32', id: 1 }, message: { type: 'string', id: 2 }, details: { rule: 'repeated', type: 'Any', id: 3 } } },
      ErrorInfo: { fields: { reason: { type: 'string', id: 1 }, domain: { type: 'string', id: 2 }, metadata: { keyType: 'string', type: 'string', id: 3 } as protobuf.IField } },
    },
  });
  const st = root.lookupType('Status').toObject(root.lookupType('Status').decode(bin)) as { details: { value: Uint8Array }[] };
  return root.lookupType('ErrorInfo').toObject(root.lookupType('ErrorInfo').decode(st.details[0]!.value)) as never;
}

describe('tokenChecker', () => {
  const check = tokenChecker('s3cret');
  it.each([
    ['s3cret', undefined],
    [['s3cret', 'other'], undefined], // the first value counts, as daprd reads md[key][0]
    [undefined, 'missing api token in request metadata'],
    [[], 'missing api token in request metadata'],
    ['', 'authentication error: api token mismatch'],
    ['s3cre', 'authentication error: api token mismatch'], // a prefix (different length) is no match
    ['s3cret ', 'authentication error: api token mismatch'],
    ['S3CRET', 'authentication error: api token mismatch'],
    [['other', 's3cret'], 'authentication error: api token mismatch'],
  ])('%j -> %s', (offered, why) => {
    expect(check(offered as string | string[] | undefined)).toBe(why);
  });
});

describe('isOpenHttp', () => {
  it.each([
    ['GET', '/v1.0/healthz', true],
    ['GET', '/v1.0/healthz/outbound', true],
    ['GET', '/v1.0/healthz/', true],
    ['GET', '//v1.0/healthz', true],
    ['HEAD', '/v1.0/healthz', false],
    ['POST', '/v1.0/healthz', false],
    ['GET', '/v1.0/metadata', false], // the SDKs' readiness poll needs the token, as on daprd
    ['GET', '/v1.0/healthz/other', false],
    ['GET', '/v1.0-alpha1/healthz', false],
  ])('%s %s -> %s', (verb, path, open) => {
    expect(isOpenHttp(verb, path)).toBe(open);
  });
});

describe('apiTokenFilter', () => {
  const filter = apiTokenFilter('s3cret');

  it('lets a call with the token through and drops the header so it goes no further', async () => {
    const headers: Exchange['headers'] = { 'dapr-api-token': 's3cret', 'x-other': '1' };
    expect(await filter.onRequest!(exchange({ headers }))).toBeUndefined();
    expect(headers).toEqual({ 'x-other': '1' });
  });

  it("refuses HTTP calls without it as daprd's http.Error: 401 plain text", async () => {
    for (const headers of [{}, { 'dapr-api-token': 'wrong' }]) {
      const reply = await filter.onRequest!(exchange({ headers, verb: 'POST', path: '/v1.0/state/s' }));
      expect(reply?.http).toEqual({ status: 401, body: 'invalid api token\n', contentType: 'text/plain; charset=utf-8', headers: { 'x-content-type-options': 'nosniff' } });
    }
  });

  it('keeps the health endpoints open', async () => {
    expect(await filter.onRequest!(exchange({ path: '/v1.0/healthz' }))).toBeUndefined();
    expect(await filter.onRequest!(exchange({ path: '/v1.0/healthz/outbound', headers: { 'dapr-api-token': 'wrong' } }))).toBeUndefined();
  });

  it.each([
    [{}, 'missing api token in request metadata'],
    [{ 'dapr-api-token': 'nope' }, 'authentication error: api token mismatch'],
  ])('refuses gRPC calls with UNAUTHENTICATED "Unauthorized" and ErrorInfo (%j)', async (headers, why) => {
    const reply = await filter.onRequest!(exchange({ api: 'dapr-grpc', protocol: 'grpc', verb: 'POST', path: '/dapr.proto.runtime.v1.Dapr/GetMetadata', headers }));
    expect(reply?.grpc.code).toBe(status.UNAUTHENTICATED);
    expect(reply?.grpc.details).toBe('Unauthorized');
    expect(errorInfo(reply!.grpc.trailers!['grpc-status-details-bin'] as Buffer)).toEqual({ reason: 'Unauthorized', domain: 'dapr.io', metadata: { 'http.code': '401', 'http.error_message': why } });
  });

  it('has no health exception on gRPC', async () => {
    const reply = await filter.onRequest!(exchange({ api: 'layotto-grpc', protocol: 'grpc', verb: 'GET', path: '/v1.0/healthz' }));
    expect(reply?.grpc.code).toBe(status.UNAUTHENTICATED);
  });

  it('applies to the three API servers only (not sidecar-to-sidecar or the mesh proxy)', () => {
    expect(filter.apis).toEqual(['dapr-http', 'dapr-grpc', 'layotto-grpc']);
  });
});

describe('grpcTokenGuard', () => {
  it('is the same check over a header map', () => {
    const guard = grpcTokenGuard('s3cret');
    expect(guard({ 'dapr-api-token': ['s3cret'] })).toBeUndefined();
    expect(guard({ 'dapr-app-id': ['x'] })?.code).toBe(status.UNAUTHENTICATED);
  });
});
