// The direct protobufjs codec against proto-loader's (de)serializers for the same messages: the
// bytes one writes the other reads back to the same objects, both ways, so either end can be
// daprd's or grpc-js's.
import { decodeRequestStream, decodeResponseStream, encodeRequestStream, encodeResponseStream } from './codec';
import { serviceInvocationDefinition } from './protos';
import type { WireRequest, WireResponse } from './wire';

const method = serviceInvocationDefinition.CallLocalStream!;
const unframe = (b: Buffer) => {
  expect(b[0]).toBe(0);
  expect(b.readUInt32BE(1)).toBe(b.length - 5);
  return b.subarray(5);
};

const request: WireRequest = {
  ver: 'V1',
  metadata: { 'x-one': { values: ['1'] }, 'x-two': { values: ['a', 'b'] } },
  message: { method: 'orders/1', data: { type_url: 'type.googleapis.com/x.Y', value: Buffer.from('hi') }, content_type: 'text/plain', http_extension: { verb: 'PATCH', querystring: 'a=1' } },
};
const response: WireResponse = {
  status: { code: 404, message: 'nope' },
  headers: { 'content-length': { values: ['5'] } },
  trailers: { t: { values: ['x'] } },
  message: { data: { type_url: '', value: Buffer.alloc(0) }, content_type: 'application/json' },
};
/** proto-loader's object without the fields wire.ts does not model (actor, status details). */
function modelled(o: any): unknown {
  const out = { ...o };
  if (out.request) {
    const { actor: _a, ...r } = out.request;
    out.request = r;
  }
  if (out.response?.status) {
    const { details: _d, ...st } = out.response.status;
    out.response = { ...out.response, status: st };
  }
  return out;
}
const payload = { data: Buffer.from('body bytes'), seq: '7' };

describe('CallLocalStream codec', () => {
  test.each([
    [{ request }],
    [{ request, payload }],
    [{ payload }],
    [{ request: { ...request, metadata: {}, message: { ...request.message!, http_extension: null, data: null } } }],
    [{ request: { ...request, message: { ...request.message!, http_extension: { verb: 'NONE', querystring: '' } } } }],
  ])('a request encodes as proto-loader reads it and decodes as proto-loader writes it (%#)', (m) => {
    const mine = encodeRequestStream(m);
    expect(method.requestDeserialize(unframe(mine))).toEqual(method.requestDeserialize(method.requestSerialize(m)));
    const theirs = method.requestSerialize(m);
    expect(decodeRequestStream(theirs)).toEqual(modelled(method.requestDeserialize(theirs)));
  });

  test.each([[{ response }], [{ response, payload }], [{ payload }], [{ response: { ...response, status: { code: 5, message: '' }, message: null } }]])(
    'a response encodes as proto-loader reads it and decodes as proto-loader writes it (%#)',
    (m) => {
      const mine = encodeResponseStream(m);
      expect(method.responseDeserialize(unframe(mine))).toEqual(method.responseDeserialize(method.responseSerialize(m)));
      const theirs = method.responseSerialize(m);
      expect(decodeResponseStream(theirs)).toEqual(modelled(method.responseDeserialize(theirs)));
    },
  );

  test('a large seq survives both ways', () => {
    const big = { payload: { data: Buffer.from('x'), seq: '9007199254740993' } };
    expect(decodeRequestStream(unframe(encodeRequestStream(big))).payload!.seq).toBe('9007199254740993');
  });
});
