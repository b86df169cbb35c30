// Service invocation metrics (daprd's dapr_runtime_service_invocation_*): calls this sidecar
// sends to other apps' sidecars and calls it receives from them, counted around the Invokers.
import type { InvokeRequest, Invoker } from '../../core/invoke/types';
import { goCodeName } from '../../mesh/filters/metrics';
import { MetricsRegistry } from './registry';

const ON_INVOKE = '/dapr.proto.runtime.v1.AppCallback/OnInvoke';

const statusOf = (e: unknown): string => String(typeof (e as { code?: unknown })?.code === 'number' ? (e as { code: number }).code : 2);

function header(req: InvokeRequest, name: string): string {
  const h = req.headers as unknown;
  const v = h instanceof Headers ? h.get(name) : (h as Record<string, string | string[] | undefined>)?.[name];
  return (Array.isArray(v) ? v[0] : v) ?? '';
}

/** Calls to another app (dst_app_id); the answer's status as res_recv. */
export function countSent(m: MetricsRegistry, invoker: Invoker, dstAppId: string): Invoker {
  return {
    invoke: async (req, signal) => {
      m.invocation.reqSent.inc({ app_id: m.appId, dst_app_id: dstAppId, type: 'unary' });
      const start = process.hrtime.bigint();
      const done = (status: string) => {
        m.invocation.resRecv.inc({ app_id: m.appId, src_app_id: dstAppId, status, type: 'unary' });
        m.invocation.resRecvLatency.observe({ app_id: m.appId, src_app_id: dstAppId, status }, MetricsRegistry.msSince(start));
      };
      try {
        const res = await invoker.invoke(req, signal);
        done(String(res.status));
        return res;
      } catch (e) {
        done(statusOf(e));
        throw e;
      }
    },
  };
}

/** Calls other sidecars send to this app (src_app_id: the caller); the answer as res_sent. */
export function countReceived(m: MetricsRegistry, invoker: Invoker): Invoker {
  return {
    invoke: async (req, signal) => {
      const caller = header(req, 'dapr-caller-app-id');
      m.invocation.reqRecv.inc({ app_id: m.appId, src_app_id: caller });
      try {
        const res = await invoker.invoke(req, signal);
        m.invocation.resSent.inc({ app_id: m.appId, dst_app_id: caller, status: String(res.status) });
        return res;
      } catch (e) {
        m.invocation.resSent.inc({ app_id: m.appId, dst_app_id: caller, status: statusOf(e) });
        throw e;
      }
    },
  };
}

/**
 * Calls into this sidecar's own app (daprd's client families): HTTP apps by the status they answer,
 * gRPC apps by OnInvoke's code. A call that got no answer at all is not a completed request.
 */
export function countAppCalls(m: MetricsRegistry, invoker: Invoker, grpcApp: boolean): Invoker {
  const record = (start: bigint, status: string) => {
    const ms = MetricsRegistry.msSince(start);
    if (grpcApp) {
      const labels = { app_id: m.appId, grpc_client_method: ON_INVOKE, grpc_client_status: status };
      m.grpc.clientCompleted.inc(labels);
      m.grpc.clientLatency.observe(labels, ms);
    } else {
      m.http.clientCompleted.inc({ app_id: m.appId, status });
      m.http.clientLatency.observe({ app_id: m.appId, status }, ms);
    }
  };
  return {
    invoke: async (req, signal) => {
      const start = process.hrtime.bigint();
      try {
        const res = await invoker.invoke(req, signal);
        record(start, grpcApp ? goCodeName(res.grpc?.code ?? 0) : String(res.status));
        return res;
      } catch (e) {
        const code = (e as { code?: unknown })?.code;
        if (grpcApp && typeof code === 'number') record(start, goCodeName(code));
        throw e;
      }
    },
  };
}
