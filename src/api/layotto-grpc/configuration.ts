// Configuration rpcs of spec.proto.runtime.v1.Runtime: Get/Save/Delete and the bidi Subscribe. Items
// carry group/label/tags (blank group/label = "default"); Save with empty content deletes. Layotto
// reports every failure as a bare error (gRPC Unknown), hence the core's `bare` lookups.
import type * as grpc from '@grpc/grpc-js';
import type { ConfigurationCore, ConfigurationItem } from '../../core/configuration';
import { toLayottoGrpc } from '../../errors/to-grpc';
import { unary } from './handlers';

type StringMap = Record<string, string>;

interface WireItem {
  key: string;
  content: string;
  group: string;
  label: string;
  tags: StringMap;
  metadata: StringMap;
}
interface QueryRequest {
  store_name: string;
  app_id: string;
  group: string;
  label: string;
  keys: string[];
  metadata: StringMap;
}
interface SaveRequest {
  store_name: string;
  app_id: string;
  items: WireItem[];
  metadata: StringMap;
}
interface SubscribeResponse {
  store_name: string;
  app_id: string;
  items: WireItem[];
}

const BARE = { bare: true } as const;

const query = (req: QueryRequest) => ({ storeName: req.store_name, keys: req.keys, metadata: req.metadata, group: req.group, label: req.label });

/** The store's namespace when it reports one, else the request's (blank = default). */
function wire(items: ConfigurationItem[], req: QueryRequest): WireItem[] {
  const blank = (v: string) => v.replace(/ /g, '') === '';
  return items.map((it) => ({
    key: it.key,
    content: it.value,
    group: it.group ?? (blank(req.group) ? 'default' : req.group),
    label: it.label ?? (blank(req.label) ? 'default' : req.label),
    tags: it.tags ?? {},
    metadata: it.metadata,
  }));
}

function subscribeHandler(conf: ConfigurationCore): grpc.handleBidiStreamingCall<QueryRequest, SubscribeResponse> {
  return (call) => {
    const ids = new Set<string>();
    let done = false;
    const stop = () => {
      done = true;
      for (const id of ids) void conf.release(id);
      ids.clear();
    };
    const fail = (e: unknown) => {
      if (done) return;
      stop();
      try {
        call.emit('error', toLayottoGrpc(e));
      } catch {
        // The call is already gone.
      }
    };
    call.on('data', (req: QueryRequest) => {
      if (done) return;
      conf
        .subscribe(
          query(req),
          {
            onUpdate: (items) => {
              if (!done && !call.cancelled) call.write({ store_name: req.store_name, app_id: req.app_id, items: wire(items, req) });
            },
            onEnd: (error) => (error ? fail(error) : undefined),
          },
          BARE,
        )
        .then(
          (id) => (done ? void conf.release(id) : ids.add(id)),
          fail,
        );
    });
    call.on('end', () => {
      stop();
      try {
        call.end();
      } catch {
        // Already closed.
      }
    });
    call.on('cancelled', stop);
    call.on('error', stop);
  };
}

export function configurationHandlers(conf: ConfigurationCore): grpc.UntypedServiceImplementation {
  return {
    GetConfiguration: unary(async (req: QueryRequest): Promise<{ items: WireItem[] }> => ({
      items: wire(await conf.get(query(req), BARE), req),
    })),
    SaveConfiguration: unary(async (req: SaveRequest): Promise<object> => {
      const items = req.items.map((it) => ({ key: it.key, value: it.content, group: it.group, label: it.label, tags: it.tags, metadata: it.metadata }));
      await conf.save(req.store_name, items, req.metadata);
      return {};
    }),
    DeleteConfiguration: unary(async (req: QueryRequest): Promise<object> => {
      await conf.delete(query(req));
      return {};
    }),
    SubscribeConfiguration: subscribeHandler(conf),
  };
}
