import type { FastifyInstance } from 'fastify';
import { InMemoryStateStore } from '../../components/state/in-memory';
import {
  type QueryableStateStore,
  type QueryRequest,
  type QueryResponse,
  StateFeature,
} from '../../components/state/types';
import { ComponentStore } from '../../components/store';
import { createCore } from '../../core';
import { buildDaprHttpServer } from './server';

/** The in-memory store without the TRANSACTIONAL feature. */
class PlainStore extends InMemoryStateStore {
  override features(): readonly string[] {
    return [StateFeature.ETAG];
  }
}

/** The in-memory store plus QUERY_API: records the query it got and returns the test's answers. */
class QueryableStore extends InMemoryStateStore implements QueryableStateStore {
  readonly answers: QueryResponse = { results: [] };
  override features(): readonly string[] {
    return [...super.features(), StateFeature.QUERY_API];
  }
  lastQuery?: QueryRequest;
  async query(req: QueryRequest): Promise<QueryResponse> {
    this.lastQuery = req;
    return this.answers;
  }
}

// Real HTTP over a socket (fastify.inject's light-my-request loads an ESM-only dependency that
// jest cannot require on Node 20).
interface Req {
  method?: string;
  url: string;
  payload?: unknown;
  headers?: Record<string, string>;
}
interface Res {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
  json(): any; // eslint-disable-line @typescript-eslint/no-explicit-any
}
async function request(app: FastifyInstance, o: Req): Promise<Res> {
  if (!app.server.listening) await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as { port: number };
  const body = o.payload === undefined || typeof o.payload === 'string' ? o.payload : JSON.stringify(o.payload);
  const r = await fetch(`http://127.0.0.1:${port}${o.url}`, { method: o.method ?? 'GET', headers: o.headers, body });
  const text = await r.text();
  return { statusCode: r.status, headers: Object.fromEntries(r.headers), body: text, json: () => JSON.parse(text) };
}

async function appWith(stores: Record<string, InMemoryStateStore>): Promise<FastifyInstance> {
  const components = new ComponentStore();
  for (const [name, instance] of Object.entries(stores)) {
    const meta = { name, type: 'state.in-memory', version: 'v1', properties: {}, appId: 'app1', namespace: '' };
    await instance.init(meta);
    components.add({ kind: 'state', name, meta, instance, capabilities: [...instance.features()] });
  }
  const core = createCore({ components, appId: 'app1', namespace: '', runtimeVersion: 't' }, { protocol: 'http', channelAddress: '127.0.0.1' });
  return buildDaprHttpServer(core, { maxBodySize: 4 << 20 });
}

describe('Dapr HTTP state API', () => {
  let app: FastifyInstance;
  let query: QueryableStore;
  const call = (o: Req) => request(app, o);
  const save = (items: unknown, url = '/v1.0/state/s') => call({ method: 'POST', url, payload: JSON.stringify(items) });
  const expectError = async (o: Req, status: number, errorCode: string, message?: string | RegExp) => {
    const r = await call(o);
    expect(r.statusCode).toBe(status);
    expect(r.headers['content-type']).toBe('application/json');
    const body = r.json();
    expect(body.errorCode).toBe(errorCode);
    if (typeof message === 'string') expect(body.message).toBe(message);
    else if (message) expect(body.message).toMatch(message);
    expect(r.body).not.toMatch(/\n\s+at /); // no stack
    return body;
  };

  beforeEach(async () => {
    query = new QueryableStore();
    app = await appWith({ s: new InMemoryStateStore(), plain: new PlainStore(), q: query });
  });
  afterEach(() => app.close());

  describe('GET/POST/DELETE state', () => {
    it('answers 204 with no body for a missing key', async () => {
      const r = await call({ url: '/v1.0/state/s/nope' });
      expect(r.statusCode).toBe(204);
      expect(r.body).toBe('');
    });

    it('stores values JSON-encoded and returns the raw bytes with ETag', async () => {
      expect((await save([{ key: 'str', value: 'hello' }, { key: 'obj', value: { b: 1, a: '<x>' } }])).statusCode).toBe(204);
      const r = await call({ url: '/v1.0/state/s/str' });
      expect(r.statusCode).toBe(200);
      expect(r.headers['content-type']).toBe('application/json');
      expect(r.headers.etag).toBe('1');
      expect(r.body).toBe('"hello"');
      // encoded as Go's json.Marshal would: sorted keys, HTML characters escaped
      expect((await call({ url: '/v1.0/state/s/obj' })).body).toBe('{"a":"\\u003cx\\u003e","b":1}');
    });

    it('accepts PUT, an empty array, any content type and null optional fields', async () => {
      expect((await call({ method: 'PUT', url: '/v1.0/state/s', payload: '[]' })).statusCode).toBe(204);
      // a JSON null body decodes to nothing in Go, so it is an empty request too
      expect((await call({ method: 'POST', url: '/v1.0/state/s', payload: 'null' })).statusCode).toBe(204);
      expect((await call({ method: 'POST', url: '/v1.0/state/s/bulk', payload: 'null' })).body).toBe('[]');
      expect((await call({ method: 'POST', url: '/v1.0/state/s/transaction', payload: 'null' })).statusCode).toBe(204);
      const r = await call({
        method: 'PUT',
        url: '/v1.0/state/s',
        headers: { 'content-type': 'text/plain' },
        payload: '[{"key":"k","value":1,"etag":null,"metadata":null,"options":null}]',
      });
      expect(r.statusCode).toBe(204);
      expect((await call({ url: '/v1.0/state/s/k' })).body).toBe('1');
    });

    it('tolerates a malformed Content-Type header', async () => {
      const r = await call({ method: 'POST', url: '/v1.0/state/s', headers: { 'content-type': 'json' }, payload: '[{"key":"k","value":2}]' });
      expect(r.statusCode).toBe(204);
    });

    it('merges URL metadata into each item and returns response metadata as headers', async () => {
      expect((await save([{ key: 't', value: 1 }], '/v1.0/state/s?metadata.ttlInSeconds=100')).statusCode).toBe(204);
      const r = await call({ url: '/v1.0/state/s/t' });
      expect(r.headers['metadata.ttlexpiretime']).toMatch(/^\d{4}-\d\d-\d\dT/);
    });

    it('expires items after ttlInSeconds', async () => {
      await save([{ key: 'ttl', value: 1, metadata: { ttlInSeconds: '1' } }]);
      expect((await call({ url: '/v1.0/state/s/ttl' })).statusCode).toBe(200);
      await new Promise((r) => setTimeout(r, 1100));
      expect((await call({ url: '/v1.0/state/s/ttl' })).statusCode).toBe(204);
    });

    it('unescapes keys and cleans paths', async () => {
      await save([{ key: 'a/b c', value: 1 }]);
      expect((await call({ url: '/v1.0/state/s/a%2Fb%20c' })).statusCode).toBe(200);
      expect((await call({ url: '//v1.0//state/s/a%2Fb%20c/' })).statusCode).toBe(200);
      expect((await call({ method: 'DELETE', url: '/v1.0/state/s/a%2Fb%20c' })).statusCode).toBe(204);
      expect((await call({ url: '/v1.0/state/s/a%2Fb%20c' })).statusCode).toBe(204);
    });

    it('handles long keys', async () => {
      const key = 'k'.repeat(500);
      await save([{ key, value: 1 }]);
      expect((await call({ url: `/v1.0/state/s/${key}` })).statusCode).toBe(200);
    });

    it('deletes with If-Match and maps ETag errors (409 mismatch, 400 invalid)', async () => {
      await save([{ key: 'd', value: 1 }]);
      await expectError({ method: 'DELETE', url: '/v1.0/state/s/d', headers: { 'if-match': '7' } }, 409, 'ERR_STATE_DELETE', /^failed deleting state with key d: /);
      await expectError({ method: 'DELETE', url: '/v1.0/state/s/d', headers: { 'if-match': 'zz' } }, 400, 'ERR_STATE_DELETE');
      expect((await call({ method: 'DELETE', url: '/v1.0/state/s/d', headers: { 'if-match': '1' } })).statusCode).toBe(204);
      expect((await call({ method: 'DELETE', url: '/v1.0/state/s/d' })).statusCode).toBe(204); // missing key, no etag
    });

    it('maps save ETag errors and first-write', async () => {
      await save([{ key: 'e', value: 1 }]);
      await expectError({ method: 'POST', url: '/v1.0/state/s', payload: [{ key: 'e', value: 2, etag: '9' }] }, 409, 'ERR_STATE_SAVE', /^failed saving state in state store s: /);
      await expectError({ method: 'POST', url: '/v1.0/state/s', payload: [{ key: 'e', value: 2, etag: 'x' }] }, 400, 'ERR_STATE_SAVE');
      await expectError(
        { method: 'POST', url: '/v1.0/state/s', payload: [{ key: 'e', value: 2, options: { concurrency: 'first-write' } }] },
        409,
        'ERR_STATE_SAVE',
      );
      expect((await save([{ key: 'e', value: 2, etag: '1' }])).statusCode).toBe(204);
      expect((await call({ url: '/v1.0/state/s/e' })).headers.etag).toBe('2');
    });
  });

  describe('bad input', () => {
    const post = (payload: string, url = '/v1.0/state/s'): Req => ({ method: 'POST', url, payload });

    it('malformed JSON', () =>
      expectError(post('[{"key":'), 400, 'ERR_MALFORMED_REQUEST', /^failed deserializing HTTP body: /));
    it('empty body', () => expectError(post(''), 400, 'ERR_MALFORMED_REQUEST', /^failed deserializing HTTP body: /));
    it('body not an array', () =>
      expectError(post('{"key":"k"}'), 400, 'ERR_MALFORMED_REQUEST', 'failed deserializing HTTP body: Invalid input: expected array, received object'));
    it('key not a string', () =>
      expectError(post('[{"key":5}]'), 400, 'ERR_MALFORMED_REQUEST', 'failed deserializing HTTP body: [0].key: Invalid input: expected string, received number'));
    it('metadata value not a string', () =>
      expectError(post('[{"key":"k","metadata":{"a":1}}]'), 400, 'ERR_MALFORMED_REQUEST', /\[0\]\.metadata\.a: /));
    it('missing key', () => expectError(post('[{"value":1}]'), 400, 'ERR_MALFORMED_REQUEST', '"key" is a required field'));
    it('empty key', () => expectError(post('[{"key":"","value":1}]'), 400, 'ERR_MALFORMED_REQUEST', '"key" is a required field'));

    it('key containing ||', async () => {
      const body = await expectError(post('[{"key":"a||b","value":1}]'), 400, 'ERR_MALFORMED_REQUEST', "input key/keyPrefix 'a||b' can't contain '||'");
      expect(body.details[0].reason).toBe('DAPR_STATE_ILLEGAL_KEY');
      await expectError({ url: '/v1.0/state/s/a||b' }, 400, 'ERR_MALFORMED_REQUEST', "input key/keyPrefix 'a||b' can't contain '||'");
      await expectError({ method: 'DELETE', url: '/v1.0/state/s/a%7C%7Cb' }, 400, 'ERR_MALFORMED_REQUEST');
    });

    it('unknown store (before the body is read)', async () => {
      const body = await expectError(post('not json', '/v1.0/state/nope'), 400, 'ERR_STATE_STORE_NOT_FOUND', 'state store nope is not found');
      expect(body.details).toEqual([
        expect.objectContaining({ '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'DAPR_STATE_NOT_FOUND', domain: 'dapr.io' }),
        expect.objectContaining({ '@type': 'type.googleapis.com/google.rpc.ResourceInfo', resource_type: 'state', resource_name: 'nope' }),
      ]);
      await expectError({ url: '/v1.0/state/nope/k' }, 400, 'ERR_STATE_STORE_NOT_FOUND');
      await expectError({ method: 'DELETE', url: '/v1.0/state/nope/k' }, 400, 'ERR_STATE_STORE_NOT_FOUND');
      await expectError(post('{}', '/v1.0/state/nope/bulk'), 400, 'ERR_STATE_STORE_NOT_FOUND');
      await expectError(post('{}', '/v1.0/state/nope/transaction'), 400, 'ERR_STATE_STORE_NOT_FOUND');
      await expectError(post('{}', '/v1.0-alpha1/state/nope/query'), 400, 'ERR_STATE_STORE_NOT_FOUND');
    });

    it('no state store configured', async () => {
      const empty = await appWith({});
      const r = await request(empty, { url: '/v1.0/state/s/k' });
      expect(r.statusCode).toBe(500);
      expect(r.json()).toMatchObject({ errorCode: 'ERR_STATE_STORE_NOT_CONFIGURED', message: 'state store is not configured' });
      await empty.close();
    });

    it('invalid ttlInSeconds', () =>
      expectError(post('[{"key":"k","value":1,"metadata":{"ttlInSeconds":"soon"}}]'), 500, 'ERR_STATE_SAVE', /ttlInSeconds/));

    it('unknown consistency / concurrency values', async () => {
      await expectError({ url: '/v1.0/state/s/k?consistency=sometimes' }, 400, 'ERR_MALFORMED_REQUEST', /consistency/);
      await expectError({ method: 'DELETE', url: '/v1.0/state/s/k?concurrency=never' }, 400, 'ERR_MALFORMED_REQUEST', /concurrency/);
    });
  });

  describe('bulk get', () => {
    it('returns data inlined as JSON, etag, metadata and empty entries for missing keys', async () => {
      await save([{ key: 'a', value: { x: 1 } }, { key: 'b', value: 'two', metadata: { ttlInSeconds: '60' } }]);
      const r = await call({ method: 'POST', url: '/v1.0/state/s/bulk', payload: { keys: ['a', 'b', 'missing'], parallelism: 2 } });
      expect(r.statusCode).toBe(200);
      expect(r.headers['content-type']).toBe('application/json');
      const items = r.json();
      expect(items[0]).toEqual({ key: 'a', data: { x: 1 }, etag: '1' });
      expect(items[1]).toMatchObject({ key: 'b', data: 'two', etag: '1', metadata: { ttlExpireTime: expect.any(String) } });
      expect(items[2]).toEqual({ key: 'missing' });
    });

    it('answers [] for no keys, accepts PUT and metadata: null', async () => {
      const r = await call({ method: 'PUT', url: '/v1.0/state/s/bulk', payload: '{"keys":[],"metadata":null}' });
      expect(r.statusCode).toBe(200);
      expect(r.body).toBe('[]');
    });

    it('rejects bad bodies', async () => {
      await expectError({ method: 'POST', url: '/v1.0/state/s/bulk', payload: '{"keys":' }, 400, 'ERR_MALFORMED_REQUEST', /^failed deserializing HTTP body: /);
      await expectError({ method: 'POST', url: '/v1.0/state/s/bulk', payload: '{"keys":[1]}' }, 400, 'ERR_MALFORMED_REQUEST', /keys\[0\]: /);
      await expectError({ method: 'POST', url: '/v1.0/state/s/bulk', payload: '{"keys":["a||b"]}' }, 400, 'ERR_MALFORMED_REQUEST', /can't contain '\|\|'/);
    });
  });

  describe('transactions', () => {
    const tx = (payload: unknown, store = 's'): Req => ({ method: 'POST', url: `/v1.0/state/${store}/transaction`, payload: JSON.stringify(payload) });

    it('applies upserts and deletes', async () => {
      await save([{ key: 'gone', value: 1 }]);
      const r = await call(
        tx({
          operations: [
            { operation: 'upsert', request: { key: 'new', value: { v: 1 } } },
            { operation: 'delete', request: { key: 'gone' } },
          ],
          metadata: null, // what the JS SDK sends when no metadata is given
        }),
      );
      expect(r.statusCode).toBe(204);
      expect((await call({ url: '/v1.0/state/s/new' })).body).toBe('{"v":1}');
      expect((await call({ url: '/v1.0/state/s/gone' })).statusCode).toBe(204);
    });

    it('answers 204 for no operations', async () => {
      expect((await call(tx({ operations: [] }))).statusCode).toBe(204);
      expect((await call({ method: 'PUT', url: '/v1.0/state/s/transaction', payload: '{}' })).statusCode).toBe(204);
    });

    it('refuses unknown operations, keeping the store untouched', async () => {
      await expectError(
        tx({ operations: [{ operation: 'upsert', request: { key: 'x', value: 1 } }, { operation: 'merge', request: { key: 'x' } }] }),
        400,
        'ERR_NOT_SUPPORTED_STATE_OPERATION',
        'operation type merge not supported',
      );
      expect((await call({ url: '/v1.0/state/s/x' })).statusCode).toBe(204);
    });

    it('answers an ETag failure with 500 ERR_STATE_TRANSACTION as daprd does, and rolls back', async () => {
      await save([{ key: 'x', value: 1 }]);
      await expectError(
        tx({ operations: [{ operation: 'upsert', request: { key: 'y', value: 1 } }, { operation: 'delete', request: { key: 'x', etag: '5' } }] }),
        500,
        'ERR_STATE_TRANSACTION',
        /^error while executing state transaction: /,
      );
      expect((await call({ url: '/v1.0/state/s/y' })).statusCode).toBe(204);
    });

    it('refuses a store without TRANSACTIONAL', async () => {
      const body = await expectError(tx({ operations: [] }, 'plain'), 500, 'ERR_STATE_STORE_NOT_SUPPORTED', "state store plain doesn't support transaction");
      expect(body.details[0].reason).toBe('DAPR_STATE_TRANSACTIONS_NOT_SUPPORTED');
    });

    it('rejects malformed bodies and bad requests', async () => {
      await expectError({ method: 'POST', url: '/v1.0/state/s/transaction', payload: '{' }, 400, 'ERR_MALFORMED_REQUEST', /^failed deserializing HTTP body: /);
      await expectError(tx({ operations: {} }), 400, 'ERR_MALFORMED_REQUEST', /operations: /);
      await expectError(tx({ operations: [{ operation: 'upsert', request: { key: 3 } }] }), 400, 'ERR_MALFORMED_REQUEST', /operations\[0\]\.request\.key: /);
      await expectError(tx({ operations: [{ operation: 'upsert', request: { value: 3 } }] }), 400, 'ERR_MALFORMED_REQUEST', '"key" is a required field');
      await expectError(
        tx({ operations: [{ operation: 'upsert', request: { key: 'k', value: 1, metadata: { ttlInSeconds: 'x' } } }] }),
        500,
        'ERR_STATE_TRANSACTION',
        /ttlInSeconds/,
      );
    });
  });

  describe('query (alpha1)', () => {
    const q = (payload: string, store = 'q', url = `/v1.0-alpha1/state/${store}/query`): Req => ({ method: 'POST', url, payload });

    it('returns results with keys un-prefixed and data inlined', async () => {
      query.answers.results.push({ key: 'app1||k1', data: Buffer.from('{"n":1}'), etag: '3' }, { key: 'app1||k2', data: Buffer.from('raw text') });
      query.answers.token = 'next';
      const r = await call(q('{"filter":{"EQ":{"n":1}},"page":{"limit":2}}', 'q', '/v1.0-alpha1/state/q/query?metadata.contentType=application/json'));
      expect(r.statusCode).toBe(200);
      expect(r.json()).toEqual({ results: [{ key: 'k1', data: { n: 1 }, etag: '3' }, { key: 'k2', data: 'raw text' }], token: 'next' });
      expect(query.lastQuery).toEqual({ query: { filter: { EQ: { n: 1 } }, page: { limit: 2 } }, metadata: { contentType: 'application/json' } });
    });

    it('answers 204 when there are no results', async () => {
      expect((await call({ ...q('{}'), method: 'PUT' })).statusCode).toBe(204);
    });

    it('refuses a store without QUERY_API', async () => {
      const body = await expectError(q('{}', 's'), 500, 'ERR_STATE_STORE_NOT_SUPPORTED', 'state store does not support querying');
      expect(body.details[0].reason).toBe('DAPR_STATE_QUERYING_NOT_SUPPORTED');
    });

    it('rejects malformed queries', async () => {
      await expectError(q('{"filter":'), 400, 'ERR_MALFORMED_REQUEST', /^failed parsing state query in state store q: /);
      await expectError(q('[1]'), 400, 'ERR_MALFORMED_REQUEST', /expected object/);
      await expectError(q('{"sort":[{"key":"a","order":"UP"}]}'), 400, 'ERR_MALFORMED_REQUEST', /sort\[0\]\.order/);
    });
  });
});
