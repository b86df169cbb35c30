// The few server errors (HTTP 5xx, gRPC INTERNAL/UNKNOWN) a client's mistake may get, because daprd
// or Layotto answer that same case with that same code. Anything else of that class is a bug.
import { status as Grpc } from '@grpc/grpc-js';
import { ERRORS } from '../../src/errors/codes';

export interface Allowed5xx {
  /** Route names (daprd's endpoint names) the code may come from. */
  routes: RegExp;
  errorCode: string;
  status: number;
  /** When set, only messages matching it are allowed (the code alone would also let real faults through). */
  message?: RegExp;
  why: string;
}

export const ALLOWED_HTTP_5XX: Allowed5xx[] = [
  {
    routes: /^(InvokeService|InvokeFallback)$/,
    errorCode: 'ERR_DIRECT_INVOKE',
    status: 500,
    why: 'an app id that does not resolve, or a target that cannot be reached: daprd answers 500 ERR_DIRECT_INVOKE ("failed to invoke, id: …")',
  },
  {
    routes: /^InvokeBinding$/,
    errorCode: 'ERR_INVOKE_OUTPUT_BINDING',
    status: 500,
    why: 'an unknown binding, an operation the binding lacks, or the binding refusing the data (missing file, bad fileName): daprd answers 500 ERR_INVOKE_OUTPUT_BINDING',
  },
  {
    routes: /^GetSecret$/,
    errorCode: 'ERR_SECRET_GET',
    status: 500,
    why: 'a key the store does not hold: the store errors and daprd answers 500 ERR_SECRET_GET',
  },
  {
    routes: /^SaveState$/,
    errorCode: 'ERR_STATE_SAVE',
    status: 500,
    message: /: failed to parse ttlInSeconds: /,
    why: 'metadata.ttlInSeconds that is not an integer: the store parses it (contrib\'s ParseTTL) and daprd answers 500 ERR_STATE_SAVE',
  },
  {
    routes: /^ExecuteStateTransaction$/,
    errorCode: 'ERR_STATE_TRANSACTION',
    status: 500,
    message: /: failed to parse ttlInSeconds: /,
    why: 'metadata.ttlInSeconds that is not an integer: the store parses it and daprd answers 500 ERR_STATE_TRANSACTION',
  },
  {
    routes: /^ExecuteStateTransaction$/,
    errorCode: 'ERR_STATE_TRANSACTION',
    status: 500,
    message: /: (invalid etag value|possible etag mismatch)/,
    why: 'an operation whose etag the store cannot read or does not match: daprd answers 500 ERR_STATE_TRANSACTION for every failure of Multi, ETags included (a single save or delete maps them to 400/409)',
  },
  ...(['ERR_TRY_LOCK', 'ERR_UNLOCK'] as const).map((errorCode) => ({
    routes: /^(TryLock|Unlock)Alpha1$/,
    errorCode,
    status: 500,
    message: /^failed to (try acquiring|release) lock: input key\/keyPrefix '.*' can't contain '\|\|'$/s,
    why: "a resource id containing '||': daprd answers 500 ERR_TRY_LOCK / ERR_UNLOCK with GetModifiedLockKey's error",
  })),
  {
    routes: /^QueryStateAlpha1$/,
    errorCode: 'ERR_STATE_QUERY',
    status: 500,
    why: 'a query the store cannot run (unknown operator, bad token): the store errors and daprd answers 500 ERR_STATE_QUERY',
  },
  {
    routes: /^QueryStateAlpha1$/,
    errorCode: 'ERR_STATE_STORE_NOT_SUPPORTED',
    status: 500,
    why: 'querying a store without the query feature: daprd answers 500 ERR_STATE_STORE_NOT_SUPPORTED',
  },
  {
    routes: /^(Bulk)?PublishEvent$/,
    errorCode: 'ERR_PUBSUB_CLOUD_EVENTS_SER',
    status: 500,
    why: 'a body (or a bulk entry) sent as application/cloudevents+json that is not a JSON object, or JSON data nested too deep: daprd answers 500 ERR_PUBSUB_CLOUD_EVENTS_SER',
  },
  {
    routes: /^Healthz$/,
    errorCode: 'ERR_HEALTH_APPID_NOT_MATCH',
    status: 500,
    why: '?appid= naming another app: daprd answers 500 ERR_HEALTH_APPID_NOT_MATCH',
  },
];

/** Every errorCode the error table can produce (a client error must carry one of these). */
export const KNOWN_CODES = new Set(Object.values(ERRORS).map((r) => r.code));

/** 5xx answers that are not daprd's envelope but daprd's own shape for that route. */
export const SHAPED_5XX: { routes: RegExp; status: number; body: (b: unknown) => boolean; why: string }[] = [
  {
    routes: /^UnsubscribeConfiguration(Alpha1)?$/,
    status: 500,
    body: (b) => typeof (b as { message?: unknown }).message === 'string',
    why: 'an unknown subscription id: daprd answers 500 {ok:false, message}, not the error envelope',
  },
];

export interface AllowedGrpc {
  /** Full method paths, e.g. /dapr.proto.runtime.v1.Dapr/InvokeBinding. */
  methods: RegExp;
  code: Grpc;
  message: RegExp;
  why: string;
}

export const ALLOWED_GRPC: AllowedGrpc[] = [
  {
    methods: /\/ExecuteStateTransaction$/,
    code: Grpc.INTERNAL,
    message: /^error while executing state transaction: (invalid etag value|possible etag mismatch)/,
    why: 'an operation whose etag the store cannot read or does not match: daprd answers Internal ERR_STATE_TRANSACTION for every failure of Multi, ETags included',
  },
  {
    methods: /./,
    code: Grpc.INTERNAL,
    message: /^Error deserializing request|^Received message larger|^Received invalid|^Request message serialization failure|compress/i,
    why: 'a frame that is not the method\'s protobuf (or a compressed flag without grpc-encoding): grpc-go answers Internal "grpc: error unmarshalling request" / "compressed flag set with identity or empty encoding"',
  },
  {
    methods: /./,
    code: Grpc.INTERNAL,
    message: /^Invalid grpc-timeout value/,
    why: 'an unparseable grpc-timeout header: grpc-go answers Internal "transport: malformed time-out"',
  },
  {
    methods: /\/spec\.proto\.runtime\.v1\.Runtime\/SayHello$/,
    code: Grpc.UNKNOWN,
    message: /^no instance found$/,
    why: 'a service_name naming no hello component: Layotto returns the bare ErrNoInstance, sent as Unknown',
  },
  {
    methods: /\/dapr\.proto\.runtime\.v1\.Dapr\/InvokeService$/,
    code: Grpc.INTERNAL,
    message: /^Bad Request$/,
    why: 'the app itself answered 400 (e.g. to a method path its HTTP server refuses): daprd maps an HTTP app\'s 400 to Internal with Go\'s status text (CodeFromHTTPStatus)',
  },
  {
    methods: /\/(InvokeService)$/,
    code: Grpc.INTERNAL,
    message: /^failed to invoke, id: /,
    why: 'an app id that does not resolve: daprd answers Internal "failed to invoke, id: …"',
  },
  {
    methods: /\/InvokeBinding$/,
    code: Grpc.INTERNAL,
    message: /^error (when invoke|invoking) output binding /,
    why: 'an unknown binding or one refusing the request: daprd answers Internal ERR_INVOKE_OUTPUT_BINDING ("error invoking output binding …"), Layotto "error when invoke output binding …"',
  },
  {
    methods: /\/GetSecret$/,
    code: Grpc.INTERNAL,
    message: /^failed getting secret with key /,
    why: 'a key the store does not hold: daprd and Layotto answer Internal ERR_SECRET_GET',
  },
  {
    methods: /\/UnsubscribeConfiguration(Alpha1)?$/,
    code: Grpc.INTERNAL,
    message: /^failed to unsubscribe to configuration request /,
    why: 'an unknown subscription id: daprd answers ERR_CONFIGURATION_UNSUBSCRIBE (a 500 over HTTP, Internal over gRPC)',
  },
  {
    methods: /\/QueryStateAlpha1$/,
    code: Grpc.INTERNAL,
    message: /^failed query in state store |^state store does not support querying/,
    why: 'a query the store cannot run, or a store without queries: daprd answers Internal (DAPR_STATE_QUERY_FAILED / QUERYING_NOT_SUPPORTED)',
  },
  {
    methods: /\/spec\.proto\.runtime\.v1\.Runtime\/(GetConfiguration|SaveConfiguration|DeleteConfiguration|SubscribeConfiguration|TryLock|Unlock|LockKeepAlive)$/,
    code: Grpc.UNKNOWN,
    message: /./,
    why: 'Layotto returns configuration and lock-component errors as bare Go errors, which grpc-go sends as Unknown (layotto.md §1.5)',
  },
  {
    methods: /\/dapr\.proto\.runtime\.v1\.Dapr\/(TryLock|Unlock)Alpha1$/,
    code: Grpc.INTERNAL,
    message: /^failed to (try acquiring|release) lock: input key\/keyPrefix '.*' can't contain '\|\|'$/s,
    why: "a resource id containing '||': daprd answers Internal ERR_TRY_LOCK / ERR_UNLOCK with GetModifiedLockKey's error",
  },
  {
    methods: /\/spec\.proto\.runtime\.v1\.Runtime\/GetNextId$/,
    code: Grpc.UNKNOWN,
    message: /^input key\/keyPrefix '.*' can't contain '\|\|'$/s,
    why: "a key containing '||': Layotto's GetNextId returns GetModifiedKey's bare Go error, which grpc-go sends as Unknown",
  },
];
