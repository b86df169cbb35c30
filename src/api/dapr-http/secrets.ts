// Secret routes (daprd's constructSecretsEndpoints): parse → core.secrets → respond with the map,
// serialized as Go's json.Marshal does (sorted keys, HTML-safe escapes).
// "bulk" is a static segment, so fastify routes it before the {key} param, as daprd's router does.
import type { Core } from '../../core';
import type { Endpoint } from './endpoint';
import { goJsonStringify } from './go-json';
import { metadataOf, sendJson } from './request';

interface StoreParams {
  secretStoreName: string;
}
interface KeyParams extends StoreParams {
  key: string;
}

export function secretsEndpoints(core: Core): Endpoint[] {
  const secrets = core.secrets;
  return [
    {
      methods: ['GET'],
      url: '/v1.0/secrets/:secretStoreName/bulk',
      name: 'GetBulkSecret',
      handler: async (req, reply) => {
        const { secretStoreName } = req.params as StoreParams;
        return sendJson(reply, 200, goJsonStringify(await secrets.bulkGet(secretStoreName, metadataOf(req))));
      },
    },
    {
      methods: ['GET'],
      url: '/v1.0/secrets/:secretStoreName/:key',
      name: 'GetSecret',
      handler: async (req, reply) => {
        const { secretStoreName, key } = req.params as KeyParams;
        return sendJson(reply, 200, goJsonStringify(await secrets.get(secretStoreName, key, metadataOf(req))));
      },
    },
  ];
}
