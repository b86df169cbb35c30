import { claimReply, decodeEntry, entryFields, pendingReply, readReply, type RawEntry } from './entry';
import { nextId } from './stream-subscription';

const b = (s: string) => Buffer.from(s);
const raw = (id: string, ...fields: (string | Buffer)[]): RawEntry => [b(id), fields.map((f) => (Buffer.isBuffer(f) ? f : b(f)))];

describe('pubsub.redis stream entries', () => {
  it("writes daprd's fields: data (the bytes) and metadata (JSON)", () => {
    const data = Buffer.from([0, 255, 10]);
    expect(entryFields(data, { a: 'b' })).toEqual(['data', data, 'metadata', '{"a":"b"}']);
  });

  it('reads data bytes and string metadata; missing or unreadable metadata gives none', () => {
    const bytes = Buffer.from([0, 255]);
    expect(decodeEntry('t', raw('1-0', 'data', bytes, 'metadata', '{"k":"v","n":1}'))).toEqual({ id: '1-0', message: { topic: 't', data: bytes, metadata: { k: 'v' } } });
    expect(decodeEntry('t', raw('1-1', 'data', 'x')).message.metadata).toEqual({});
    expect(decodeEntry('t', raw('1-2', 'data', 'x', 'metadata', 'not json')).message.metadata).toEqual({});
    expect(decodeEntry('t', raw('1-3', 'other', 'x')).message.data.length).toBe(0);
  });

  it('reads XREADGROUP replies in RESP2 and flattened RESP3 shape, and none', () => {
    const e = raw('5-0', 'data', 'x');
    expect(readReply([[b('t'), [e]]])).toEqual([e]);
    expect(readReply([b('t'), [e]])).toEqual([e]);
    expect(readReply(null)).toEqual([]);
  });

  it('XCLAIM: null for an entry gone from the stream (Redis < 7)', () => {
    const e = raw('5-0', 'data', 'x');
    expect(claimReply([e, null])).toEqual([e, null]);
  });

  it('XPENDING rows give id and idle time', () => {
    expect(pendingReply([['1-0', 'c', 1200, 3]])).toEqual([{ id: '1-0', idleMs: 1200 }]);
  });

  it('pages past an id', () => {
    expect(nextId('1700000000000-0')).toBe('1700000000000-1');
    expect(nextId('1-18446744073709551614')).toBe('1-18446744073709551615');
  });
});
