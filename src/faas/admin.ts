// Layotto's FaaS admin API (its `wasm_filter` listener, :34998): POST /wasm/install, /wasm/update
// and /wasm/uninstall with Layotto's JSON bodies; a failure is `{"error": "..."}`. Where Layotto
// answers every failure with 500, this one says what went wrong: 400 for a body that is not JSON
// or not a valid declaration, 404 for an unknown function, 409 for an id already installed; a
// module that will not load stays 500 as in Layotto. Operations run one at a time, so an update
// racing an uninstall of the same id cannot interleave. GET /wasm/list shows what is installed.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { z } from 'zod';
import { failureAnswer } from './answers';
import { BodyTooLarge, readBody, sendJson } from './http-io';
import { fromLayottoEntry, fromLayottoUpdate, layottoFunctionSchema, layottoUninstallSchema, layottoUpdateSchema } from './spec';
import { FunctionError, type FunctionHost } from './types';

const MAX_BODY = 64 * 1024;

export interface AdminOptions {
  /** Called after every successful change (metadata, logs). */
  onChange?: (op: 'install' | 'update' | 'uninstall', id: string) => void;
}

class BadRequest extends Error {}

function parse<S extends z.ZodType>(schema: S, body: Buffer): z.infer<S> {
  let raw: unknown;
  try {
    raw = JSON.parse(body.toString('utf8'));
  } catch (e) {
    throw new BadRequest(`invalid JSON body: ${(e as Error).message}`);
  }
  const r = schema.safeParse(raw);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  throw new BadRequest(`${issue.path.length > 0 ? `${issue.path.join('.')}: ` : ''}${issue.message.replace(/^Invalid input: /, '')}`);
}

export function adminHandler(host: FunctionHost, opts: AdminOptions = {}): (req: IncomingMessage, res: ServerResponse) => void {
  let queue: Promise<unknown> = Promise.resolve();
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const run = queue.then(fn, fn);
    queue = run.catch(() => undefined);
    return run;
  };
  const ops: Record<string, (body: Buffer) => Promise<void>> = {
    install: async (body) => {
      const spec = fromLayottoEntry(parse(layottoFunctionSchema, body));
      await serial(async () => {
        if (host.has(spec.id)) throw Object.assign(new BadRequest(`function ${spec.id} is already installed; use /wasm/update`), { status: 409 });
        await host.install(spec);
      });
      opts.onChange?.('install', spec.id);
    },
    update: async (body) => {
      const spec = fromLayottoUpdate(parse(layottoUpdateSchema, body));
      await serial(async () => {
        if (!host.has(spec.id)) throw new FunctionError('not_found', `function ${spec.id} is not installed`);
        await host.update(spec);
      });
      opts.onChange?.('update', spec.id);
    },
    uninstall: async (body) => {
      const { name } = parse(layottoUninstallSchema, body);
      await serial(async () => {
        if (!host.has(name)) throw new FunctionError('not_found', `function ${name} is not installed`);
        await host.uninstall(name);
      });
      opts.onChange?.('uninstall', name);
    },
  };
  return (req, res) => {
    const url = new URL(req.url ?? '/', 'http://admin');
    const [prefix, name, ...rest] = url.pathname.split('/').filter(Boolean);
    if (prefix !== 'wasm' || rest.length > 0 || !name || !(name in ops || name === 'list')) {
      req.resume();
      return sendJson(res, 404, { error: `unknown admin path ${url.pathname}; use POST /wasm/install, /wasm/update or /wasm/uninstall` });
    }
    if (name === 'list') {
      req.resume();
      return sendJson(res, 200, { functions: host.list() });
    }
    if (req.method !== 'POST') {
      req.resume();
      return sendJson(res, 405, { error: `use POST for /wasm/${name}` }, { allow: 'POST' });
    }
    readBody(req, MAX_BODY)
      .then((body) => ops[name]!(body))
      .then(
        () => sendJson(res, 200, {}),
        (e: unknown) => {
          if (e instanceof BadRequest) return sendJson(res, (e as { status?: number }).status ?? 400, { error: e.message });
          if (e instanceof BodyTooLarge) return sendJson(res, 413, { error: e.message });
          const a = failureAnswer(e);
          sendJson(res, a.status, a.body);
        },
      );
  };
}

