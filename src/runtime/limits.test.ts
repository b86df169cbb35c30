import { Readable } from 'node:stream';
import { status } from '@grpc/grpc-js';
import type { InvokeResponse, Invoker } from '../core/invoke/types';
import { isRuntimeError } from '../errors/runtime-error';
import { toGrpc } from '../errors/to-grpc';
import { toHttp } from '../errors/to-http';
import { limitResponses } from './limits';

const answering = (chunks: Buffer[], headers: Record<string, string[]> = {}): Invoker & { source?: Readable } => {
  const inv: Invoker & { source?: Readable } = {
    invoke: async () => {
      inv.source = Readable.from(chunks);
      return { status: 200, headers, contentType: 'text/plain', body: inv.source } as InvokeResponse;
    },
  };
  return inv;
};

const read = async (r: Readable) => Buffer.concat(await r.toArray()).length;

describe('limitResponses (--max-body-size on answers)', () => {
  it('passes answers up to the limit untouched', async () => {
    const res = await limitResponses(answering([Buffer.alloc(60), Buffer.alloc(40)]), 'app', 100).invoke({} as never);
    expect(await read(res.body)).toBe(100);
  });

  it('fails the call before anything is sent when Content-Length says it is too large', async () => {
    const inv = answering([Buffer.alloc(10)], { 'content-length': ['101'] });
    const err = await limitResponses(inv, 'app', 100).invoke({} as never).catch((e: unknown) => e);
    expect(isRuntimeError(err)).toBe(true);
    expect(toHttp(err)).toEqual({ status: 500, body: { errorCode: 'ERR_DIRECT_INVOKE', message: 'failed to invoke, id: app, err: the response body is larger than 100 bytes (--max-body-size)' } });
    expect(toGrpc(err).code).toBe(status.RESOURCE_EXHAUSTED);
    expect(inv.source?.destroyed).toBe(true);
  });

  it('takes a HEAD answer at its word that no body follows', async () => {
    const res = await limitResponses(answering([], { 'content-length': ['1000'] }), 'app', 100).invoke({ verb: 'HEAD' } as never);
    expect(await read(res.body)).toBe(0);
  });

  it('cuts a body that grows past the limit with the same error', async () => {
    const res = await limitResponses(answering([Buffer.alloc(60), Buffer.alloc(60), Buffer.alloc(60)]), 'app', 100).invoke({} as never);
    await expect(read(res.body)).rejects.toMatchObject({ kind: 'RESPONSE_TOO_LARGE' });
  });

  it('is nothing at all without a limit', () => {
    const inv = answering([]);
    expect(limitResponses(inv, 'app', 0)).toBe(inv);
  });
});
