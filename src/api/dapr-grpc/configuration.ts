// Configuration rpcs of dapr.proto.runtime.v1.Dapr (plain and Alpha1 names). SubscribeConfiguration
// is a server stream: the first message carries only the subscription id, later ones the changed
// items; the client closing the stream unsubscribes, UnsubscribeConfiguration ends the stream with
// OK, and a store that fails ends it with the ERR_CONFIGURATION_SUBSCRIBE status.
import type * as grpc from '@grpc/grpc-js';
import type { ConfigurationCore, ConfigurationItem } from '../../core/configuration';
import { toGrpc } from '../../errors/to-grpc';
import { unary } from './handlers';

interface GetRequest {
  store_name: string;
  keys: string[];
  metadata: Record<string, string>;
}
interface UnsubscribeRequest {
  store_name: string;
  id: string;
}
type WireItems = Record<string, { value: string; version: string; metadata: Record<string, string> }>;

const wire = (items: ConfigurationItem[]): WireItems =>
  Object.fromEntries(items.map((it) => [it.key, { value: it.value, version: it.version, metadata: it.metadata }]));

function subscribeHandler(conf: ConfigurationCore): grpc.handleServerStreamingCall<GetRequest, { id: string; items?: WireItems }> {
  return (call) => {
    const req = call.request;
    let id = '';
    let done = false;
    const finish = (fn: () => void) => {
      if (done) return;
      done = true;
      try {
        fn();
      } catch {
        // The call is already gone.
      }
    };
    call.on('cancelled', () => {
      done = true;
      if (id) void conf.release(id);
    });
    conf
      .subscribe(
        { storeName: req.store_name, keys: req.keys, metadata: req.metadata },
        {
          onUpdate: (items, subId) => {
            if (!done && !call.cancelled) call.write({ id: subId, items: wire(items) });
          },
          onEnd: (error) => finish(() => (error ? call.emit('error', toGrpc(error)) : call.end())),
        },
      )
      .then(
        (subId) => {
          id = subId;
          if (done) void conf.release(subId); // cancelled while subscribing
          else call.write({ id: subId });
        },
        (e: unknown) => finish(() => call.emit('error', toGrpc(e))),
      );
  };
}

export function configurationHandlers(conf: ConfigurationCore): grpc.UntypedServiceImplementation {
  const get = unary(async (req: GetRequest): Promise<{ items: WireItems }> => ({
    items: wire(await conf.get({ storeName: req.store_name, keys: req.keys, metadata: req.metadata })),
  }));
  const unsubscribe = unary(async (req: UnsubscribeRequest): Promise<{ ok: boolean; message: string }> => {
    await conf.unsubscribe(req.store_name, req.id);
    return { ok: true, message: '' };
  });
  const subscribe = subscribeHandler(conf);
  return {
    GetConfiguration: get,
    GetConfigurationAlpha1: get,
    SubscribeConfiguration: subscribe,
    SubscribeConfigurationAlpha1: subscribe,
    UnsubscribeConfiguration: unsubscribe,
    UnsubscribeConfigurationAlpha1: unsubscribe,
  };
}
