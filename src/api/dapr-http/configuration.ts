// Configuration routes (daprd's http.go), under /v1.0 and /v1.0-alpha1: GET items by repeated
// `?key=` (204 when none), subscribe (updates POSTed to the app; needs an app channel) and
// unsubscribe by id (`{ok:true}`, or 500 `{ok:false,message}`).
import type { FastifyRequest } from 'fastify';
import type { Core } from '../../core';
import { RuntimeError } from '../../errors/runtime-error';
import { deliverToApp, itemsJson } from './configuration-app';
import type { Endpoint } from './endpoint';
import { metadataOf, noContent, type Query, sendJson } from './request';

interface Params {
  storeName: string;
  configurationSubscribeID?: string;
}

function keysOf(req: FastifyRequest): string[] {
  const v = (req.query as Query).key;
  if (v === undefined) return [];
  return Array.isArray(v) ? v : [v];
}

export function configurationEndpoints(core: Core): Endpoint[] {
  const conf = core.configuration;
  const routes: Endpoint[] = [];
  for (const [version, suffix] of [
    ['v1.0', ''],
    ['v1.0-alpha1', 'Alpha1'],
  ] as const) {
    routes.push(
      {
        methods: ['GET'],
        url: `/${version}/configuration/:storeName`,
        name: `GetConfiguration${suffix}`,
        handler: async (req, reply) => {
          const { storeName } = req.params as Params;
          const items = await conf.get({ storeName, keys: keysOf(req), metadata: metadataOf(req) });
          if (items.length === 0) return noContent(reply);
          return sendJson(reply, 200, JSON.stringify(itemsJson(items)));
        },
      },
      {
        methods: ['GET'],
        url: `/${version}/configuration/:storeName/subscribe`,
        name: `SubscribeConfiguration${suffix}`,
        handler: async (req, reply) => {
          const { storeName } = req.params as Params;
          conf.requireStore(storeName);
          const app = conf.appChannel();
          if (!app) throw new RuntimeError('CONFIGURATION_APP_CHANNEL_NIL');
          const log = req.server.log;
          const id = await conf.subscribe(
            { storeName, keys: keysOf(req), metadata: metadataOf(req) },
            { onUpdate: (items, subId) => deliverToApp(app, storeName, subId, items, log) },
          );
          return sendJson(reply, 200, JSON.stringify({ id }));
        },
      },
      {
        methods: ['GET'],
        url: `/${version}/configuration/:storeName/:configurationSubscribeID/unsubscribe`,
        name: `UnsubscribeConfiguration${suffix}`,
        handler: async (req, reply) => {
          const { storeName, configurationSubscribeID: id = '' } = req.params as Params;
          try {
            await conf.unsubscribe(storeName, id);
          } catch (e) {
            // Store lookup errors keep daprd's error envelope; an unsubscribe failure answers in its own shape.
            if (e instanceof RuntimeError && e.kind === 'CONFIGURATION_UNSUBSCRIBE') {
              return sendJson(reply, 500, JSON.stringify({ message: e.message }));
            }
            throw e;
          }
          return sendJson(reply, 200, JSON.stringify({ ok: true }));
        },
      },
    );
  }
  return routes;
}
