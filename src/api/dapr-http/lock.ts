// Lock routes (daprd's lock.go, alpha1): daprd parses these bodies with protojson, so both the
// JSON names (resourceId) and the proto names (resource_id) are read, unknown fields are ignored,
// null means "unset", an int32 may come as a number or a numeric string; the store name comes from
// the URL. Answers are protojson with unpopulated fields emitted and enums as numbers.
import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Core } from '../../core';
import type { Endpoint } from './endpoint';
import { jsonBody, rawBody, sendJson } from './request';

const str = z.string().nullish();
const int32 = z
  .union([z.number().int(), z.string().regex(/^-?\d+$/, 'invalid value for int32 type').transform(Number)])
  .refine((n) => n >= -(2 ** 31) && n < 2 ** 31, 'int32 out of range')
  .nullish();

const LockBody = z
  .object({
    resourceId: str,
    resource_id: str,
    lockOwner: str,
    lock_owner: str,
    expiryInSeconds: int32,
    expiry_in_seconds: int32,
  })
  .nullable();

interface StoreParams {
  storeName: string;
}

function parse(req: FastifyRequest) {
  const body = rawBody(req).length === 0 ? null : jsonBody(req, LockBody);
  return {
    storeName: (req.params as StoreParams).storeName,
    resourceId: body?.resourceId ?? body?.resource_id ?? '',
    lockOwner: body?.lockOwner ?? body?.lock_owner ?? '',
    expiryInSeconds: body?.expiryInSeconds ?? body?.expiry_in_seconds ?? 0,
  };
}

export function lockEndpoints(core: Core): Endpoint[] {
  const lock = core.lock;
  return [
    {
      methods: ['POST'],
      url: '/v1.0-alpha1/lock/:storeName',
      name: 'TryLockAlpha1',
      handler: async (req, reply) => {
        const res = await lock.tryLock(parse(req), { expiryFirst: true });
        return sendJson(reply, 200, JSON.stringify({ success: res.success }));
      },
    },
    {
      methods: ['POST'],
      url: '/v1.0-alpha1/unlock/:storeName',
      name: 'UnlockAlpha1',
      handler: async (req, reply) => {
        const res = await lock.unlock(parse(req));
        return sendJson(reply, 200, JSON.stringify({ status: res.status }));
      },
    },
  ];
}
