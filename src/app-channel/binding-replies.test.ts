import { bindingReplyFromGrpc, bindingReplyFromHttp } from './binding-replies';

describe('HTTP answers', () => {
  test('an empty or non-JSON body is a plain ack, handed back as is', () => {
    for (const body of ['', 'ok', '[1]', 'null']) {
      const r = bindingReplyFromHttp(Buffer.from(body));
      expect(r).toMatchObject({ storeName: '', states: [], to: [] });
      expect(r.body.toString()).toBe(body);
    }
  });

  test('storeName, state, to, data and concurrency, field names matched as Go does', () => {
    const r = bindingReplyFromHttp(
      Buffer.from(JSON.stringify({ StoreName: 's', state: [{ key: 'k', value: { a: 1 }, etag: '3', metadata: { m: 'v' }, options: { concurrency: 'first-write' } }], TO: ['o1'], data: { x: [1] }, concurrency: 'parallel' })),
    );
    expect(r.storeName).toBe('s');
    expect(r.states).toEqual([{ key: 'k', value: Buffer.from('{"a":1}'), etag: '3', metadata: { m: 'v' }, options: { concurrency: 'first-write', consistency: undefined }, contentType: 'application/json' }]);
    expect(r.to).toEqual(['o1']);
    expect(r.data.toString()).toBe('{"x":[1]}');
    expect(r.concurrency).toBe('parallel');
  });
});

describe('gRPC answers', () => {
  test('BindingEventResponse fields; JSON data re-encoded, other data sent on as null', () => {
    const r = bindingReplyFromGrpc({
      store_name: 's',
      states: [{ key: 'k', value: Buffer.from('raw'), etag: { value: '1' }, metadata: {}, options: { concurrency: 'CONCURRENCY_LAST_WRITE', consistency: 'CONSISTENCY_STRONG' } }],
      to: ['o'],
      data: Buffer.from(' {"a": 1} '),
      concurrency: 'PARALLEL',
    });
    expect(r.body.toString()).toBe(' {"a": 1} ');
    expect(r.data.toString()).toBe('{"a":1}');
    expect(r.states[0]).toEqual({ key: 'k', value: Buffer.from('raw'), etag: '1', metadata: {}, options: { concurrency: 'last-write', consistency: 'strong' } });
    expect(r.concurrency).toBe('parallel');
    expect(bindingReplyFromGrpc({ data: Buffer.from('not json'), to: ['o'] }).data.toString()).toBe('null');
  });
});
