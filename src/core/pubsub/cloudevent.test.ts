import { newTraceparent } from '../trace';
import { buildEnvelope, CloudEventError, dataBytes, fromRawPayload, hasExpired, parseBool } from './cloudevent';

const base = { source: 'app1', topic: 'orders', pubsubName: 'ps', metadata: {}, now: new Date('2026-01-02T03:04:05.678Z') };
const parse = (b: Buffer) => JSON.parse(b.toString()) as Record<string, unknown>;

describe('CloudEvent envelope (daprd NewCloudEvent)', () => {
  it('wraps JSON data as JSON, with every field daprd sets', () => {
    const ce = parse(buildEnvelope({ ...base, contentType: 'application/json', data: Buffer.from('{"a":1}'), traceparent: 'tp', tracestate: 'ts' }));
    expect(ce).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      specversion: '1.0',
      datacontenttype: 'application/json',
      source: 'app1',
      type: 'com.dapr.event.sent',
      topic: 'orders',
      pubsubname: 'ps',
      traceid: 'tp',
      traceparent: 'tp',
      tracestate: 'ts',
      time: '2026-01-02T03:04:05Z',
      data: { a: 1 },
    });
  });

  it('keeps the digits of big JSON numbers', () => {
    const out = buildEnvelope({ ...base, contentType: 'application/json', data: Buffer.from('{"n":12345678901234567890}') }).toString();
    expect(out).toContain('"data":{"n":12345678901234567890}');
  });

  it('defaults to text/plain, puts binary types in data_base64, and invalid JSON as a string', () => {
    expect(parse(buildEnvelope({ ...base, contentType: '', data: Buffer.from('hi') }))).toMatchObject({ datacontenttype: 'text/plain', data: 'hi' });
    expect(parse(buildEnvelope({ ...base, contentType: 'application/octet-stream', data: Buffer.from([1, 2, 255]) }))).toMatchObject({ data_base64: 'AQL/' });
    expect(parse(buildEnvelope({ ...base, contentType: 'application/json', data: Buffer.from('{oops') }))).toMatchObject({ data: '{oops' });
  });

  it('applies cloudevent.* metadata overrides and a runtime expiration', () => {
    const ce = parse(
      buildEnvelope({
        ...base,
        contentType: 'text/plain',
        data: Buffer.from('x'),
        metadata: { 'cloudevent.id': 'my-id', 'cloudevent.type': 'my.type', 'cloudevent.source': 'src', 'cloudevent.subject': 'subj' },
        ttlSeconds: 10,
      }),
    );
    expect(ce).toMatchObject({ id: 'my-id', type: 'my.type', source: 'src', subject: 'subj', expiration: '2026-01-02T03:04:15Z' });
  });

  it('keeps a caller CloudEvent, adding topic, pubsub and trace fields and missing defaults', () => {
    const body = Buffer.from(JSON.stringify({ id: 'e1', source: 'mine', data: { x: 1 }, custom: 'ext' }));
    const ce = parse(buildEnvelope({ ...base, contentType: 'application/cloudevents+json', data: body, traceparent: 'tp' }));
    expect(ce).toMatchObject({ id: 'e1', source: 'mine', type: 'com.dapr.event.sent', specversion: '1.0', topic: 'orders', pubsubname: 'ps', traceparent: 'tp', custom: 'ext', data: { x: 1 } });
    expect(() => buildEnvelope({ ...base, contentType: 'application/cloudevents+json', data: Buffer.from('nope') })).toThrow(CloudEventError);
    expect(() => buildEnvelope({ ...base, contentType: 'application/cloudevents+json', data: Buffer.from('[1]') })).toThrow(CloudEventError);
  });

  it('refuses JSON data or a CloudEvent nested past the depth limit (no subscriber could decode it)', () => {
    const deep = '['.repeat(5000) + ']'.repeat(5000);
    expect(() => buildEnvelope({ ...base, contentType: 'application/json', data: Buffer.from(deep) })).toThrow(new CloudEventError('exceeded max depth'));
    expect(() => buildEnvelope({ ...base, contentType: 'application/cloudevents+json', data: Buffer.from(`{"data":${deep}}`) })).toThrow(CloudEventError);
    expect(parse(buildEnvelope({ ...base, contentType: 'text/plain', data: Buffer.from(deep) }))).toMatchObject({ data: deep });
  });
});

describe('subscriber side', () => {
  it('wraps raw payloads, reads expiry and data bytes', () => {
    const raw = fromRawPayload(Buffer.from('raw'), 't', 'ps');
    expect(raw).toMatchObject({ datacontenttype: 'application/octet-stream', data_base64: Buffer.from('raw').toString('base64'), topic: 't', pubsubname: 'ps' });
    expect(dataBytes(raw).toString()).toBe('raw');
    expect(dataBytes({ data: { a: 1 } }).toString()).toBe('{"a":1}');
    expect(dataBytes({ data: 'text' }).toString()).toBe('text');
    expect(hasExpired({ expiration: '2000-01-01T00:00:00Z' })).toBe(true);
    expect(hasExpired({ expiration: '2999-01-01T00:00:00Z' })).toBe(false);
    expect(hasExpired({})).toBe(false);
  });

  it('parses booleans as Go does and makes W3C traceparents', () => {
    expect(parseBool('true')).toBe(true);
    expect(parseBool('0')).toBe(false);
    expect(() => parseBool('yes')).toThrow('invalid syntax');
    expect(newTraceparent()).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-00$/);
  });
});
