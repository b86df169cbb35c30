// State routes (daprd's constructStateEndpoints): parse → core.state → respond.
import type { FastifyRequest } from 'fastify';
import type { Core } from '../../core';
import type { StateItemInput } from '../../core/state';
import type { BulkGetItem, Query, QueryItem } from '../../components/state/types';
import { RuntimeError } from '../../errors/runtime-error';
import type { Endpoint } from './endpoint';
import { goJsonStringify } from './go-json';
import { inlineJson, jsonBody, metadataOf, noContent, queryParam, sendJson } from './request';
import { BulkGetBody, QueryBody, SaveStateBody, type StateItem, TransactionBody } from './schemas';

interface StoreParams {
  storeName: string;
}
interface KeyParams extends StoreParams {
  key: string;
}

const JSON_TYPE = 'application/json';

export function stateEndpoints(core: Core): Endpoint[] {
  const state = core.state;
  const storeOf = (req: FastifyRequest): string => (req.params as StoreParams).storeName;

  return [
    {
      methods: ['GET'],
      url: '/v1.0/state/:storeName/:key',
      name: 'GetState',
      // Hot path: no body, no schema, stored bytes sent as they are.
      handler: async (req, reply) => {
        const { storeName, key } = req.params as KeyParams;
        const res = await state.get(storeName, key, metadataOf(req), queryParam(req, 'consistency'));
        if (!res) return noContent(reply);
        reply.code(200).header('content-type', JSON_TYPE);
        if (res.etag !== undefined) reply.header('etag', res.etag);
        for (const k in res.metadata) reply.header(`metadata.${k}`, res.metadata[k]);
        return reply.send(res.data);
      },
    },
    {
      methods: ['POST', 'PUT'],
      url: '/v1.0/state/:storeName',
      name: 'SaveState',
      handler: async (req, reply) => {
        const storeName = storeOf(req);
        state.store(storeName); // daprd checks the store before reading the body
        const items = jsonBody(req, SaveStateBody) ?? [];
        const urlMd = metadataOf(req);
        await state.save(storeName, items.map((it) => itemInput(it, urlMd)));
        return noContent(reply);
      },
    },
    {
      methods: ['DELETE'],
      url: '/v1.0/state/:storeName/:key',
      name: 'DeleteState',
      handler: async (req, reply) => {
        const { storeName, key } = req.params as KeyParams;
        const ifMatch = req.headers['if-match'];
        const options = { concurrency: queryParam(req, 'concurrency'), consistency: queryParam(req, 'consistency') };
        await state.delete(storeName, key, typeof ifMatch === 'string' ? ifMatch : undefined, options, metadataOf(req));
        return noContent(reply);
      },
    },
    {
      methods: ['POST', 'PUT'],
      url: '/v1.0/state/:storeName/bulk',
      name: 'GetBulkState',
      handler: async (req, reply) => {
        const storeName = storeOf(req);
        state.store(storeName);
        const body = jsonBody(req, BulkGetBody) ?? {};
        const keys = body.keys ?? [];
        const md = { ...body.metadata, ...metadataOf(req) };
        const items = keys.length === 0 ? [] : await state.bulkGet(storeName, keys, body.parallelism ?? 0, md);
        return sendJson(reply, 200, `[${items.map(bulkItemJson).join(',')}]`);
      },
    },
    {
      methods: ['POST', 'PUT'],
      url: '/v1.0/state/:storeName/transaction',
      name: 'ExecuteStateTransaction',
      handler: async (req, reply) => {
        const storeName = storeOf(req);
        state.store(storeName);
        const body = jsonBody(req, TransactionBody) ?? {};
        const urlMd = metadataOf(req);
        const ops = (body.operations ?? []).map((op) => ({
          operation: op.operation ?? '',
          request: itemInput(op.request ?? {}, urlMd, op.operation === 'upsert'),
        }));
        await state.transaction(storeName, ops, { ...body.metadata, ...urlMd });
        return noContent(reply);
      },
    },
    {
      methods: ['POST', 'PUT'],
      url: '/v1.0-alpha1/state/:storeName/query',
      name: 'QueryStateAlpha1',
      handler: async (req, reply) => {
        const storeName = storeOf(req);
        state.store(storeName);
        const query = jsonBody(req, QueryBody, (msg) => new RuntimeError('STATE_QUERY_BAD_REQUEST', storeName, msg));
        const res = await state.query(storeName, query as Query, metadataOf(req));
        if (res.results.length === 0) return noContent(reply);
        let json = `{"results":[${res.results.map(queryItemJson).join(',')}]`;
        if (res.token) json += `,"token":${JSON.stringify(res.token)}`;
        if (res.metadata && Object.keys(res.metadata).length > 0) json += `,"metadata":${JSON.stringify(res.metadata)}`;
        return sendJson(reply, 200, json + '}');
      },
    },
  ];
}

/**
 * A body item as core takes it. The value is stored JSON-encoded as daprd does; URL metadata
 * overrides the item's own (daprd copies the query map over each item's map).
 */
function itemInput(it: StateItem, urlMd: Record<string, string>, encodeValue = true): StateItemInput {
  return {
    key: it.key ?? '',
    value: encodeValue ? Buffer.from(goJsonStringify(it.value)) : Buffer.alloc(0),
    etag: it.etag ?? undefined,
    metadata: { ...it.metadata, ...urlMd },
    options: it.options
      ? { concurrency: it.options.concurrency ?? undefined, consistency: it.options.consistency ?? undefined }
      : undefined,
    contentType: JSON_TYPE,
  };
}

/** daprd's BulkGetResponse: key always; on error only error; else data/etag/metadata when set. */
function bulkItemJson(it: BulkGetItem): string {
  let s = `{"key":${JSON.stringify(it.key)}`;
  if (it.error) return `${s},"error":${JSON.stringify(it.error)}}`;
  if (it.data && it.data.length > 0) s += `,"data":${inlineJson(it.data)}`;
  if (it.etag !== undefined) s += `,"etag":${JSON.stringify(it.etag)}`;
  if (it.metadata && Object.keys(it.metadata).length > 0) s += `,"metadata":${JSON.stringify(it.metadata)}`;
  return s + '}';
}

/** daprd's QueryItem: data always present, etag and error when set. */
function queryItemJson(it: QueryItem): string {
  let s = `{"key":${JSON.stringify(it.key)},"data":${inlineJson(it.data)}`;
  if (it.etag) s += `,"etag":${JSON.stringify(it.etag)}`;
  if (it.error) s += `,"error":${JSON.stringify(it.error)}`;
  return s + '}';
}
