// The one error table. Each row is one logical error: its Dapr `errorCode`, HTTP status, gRPC
// code, message template and optional google.rpc.ErrorInfo reason. The same errorCode can appear
// on several rows (ERR_STATE_SAVE is 500, 409 or 400 depending on the cause), so rows are keyed by
// a kind name, never by status. `layotto` overrides code/message where the Layotto API differs.
import { status as Grpc } from '@grpc/grpc-js';

export interface ErrorRow {
  code: string;
  http: number;
  grpc: Grpc;
  template: string;
  reason?: string;
  layotto?: { grpc: Grpc; template: string };
}

const row = (
  code: string,
  http: number,
  grpc: Grpc,
  template: string,
  reason?: string,
  layotto?: ErrorRow['layotto'],
): ErrorRow => ({ code, http, grpc, template, reason, layotto });

export const ERRORS = {
  // Common
  BAD_REQUEST: row('ERR_BAD_REQUEST', 400, Grpc.INVALID_ARGUMENT, '%s'),
  MALFORMED_REQUEST: row('ERR_MALFORMED_REQUEST', 400, Grpc.INVALID_ARGUMENT, 'failed deserializing HTTP body: %s'),
  MALFORMED_REQUEST_DATA: row('ERR_MALFORMED_REQUEST_DATA', 500, Grpc.INTERNAL, "can't serialize request data field: %s"),
  BODY_TOO_LARGE: row('ERR_BODY_READ', 413, Grpc.RESOURCE_EXHAUSTED, 'request body too large: %s'),
  BODY_READ: row('ERR_BODY_READ', 400, Grpc.INVALID_ARGUMENT, 'failed to read request body: %s'),
  // Ours (daprd has no such cap): --max-concurrent-requests refused a call; retry later.
  TOO_MANY_IN_FLIGHT: row('ERR_TOO_MANY_REQUESTS', 503, Grpc.UNAVAILABLE, 'too many requests in progress: %s'),
  API_UNIMPLEMENTED: row('ERR_API_UNIMPLEMENTED', 501, Grpc.UNIMPLEMENTED, '%s is not implemented'),
  INTERNAL: row('ERR_INTERNAL', 500, Grpc.INTERNAL, '%s'),
  UNKNOWN: row('ERROR', 500, Grpc.UNKNOWN, '%s'),
  DIRECT_INVOKE_NO_APP_ID: row(
    'ERR_DIRECT_INVOKE',
    404,
    Grpc.NOT_FOUND,
    'failed getting app id either from the URL path or the header dapr-app-id',
  ),
  /** Any failure to reach an invocation target (args: target id, reason), as daprd's ErrDirectInvoke. */
  DIRECT_INVOKE: row('ERR_DIRECT_INVOKE', 500, Grpc.INTERNAL, 'failed to invoke, id: %s, err: %s'),
  // The callee's access control denied the call: 403 over HTTP; gRPC InvokeService stays Internal (daprd).
  // An answer larger than --max-body-size (daprd's limit on the app channel's response body).
  RESPONSE_TOO_LARGE: row('ERR_DIRECT_INVOKE', 500, Grpc.RESOURCE_EXHAUSTED, 'failed to invoke, id: %s, err: the response body is larger than %s bytes (--max-body-size)'),
  DIRECT_INVOKE_FORBIDDEN: row('ERR_DIRECT_INVOKE', 403, Grpc.INTERNAL, 'failed to invoke, id: %s, err: %s'),
  HEALTH_NOT_READY: row('ERR_HEALTH_NOT_READY', 500, Grpc.INTERNAL, 'dapr is not ready'),
  HEALTH_APPID_NOT_MATCH: row('ERR_HEALTH_APPID_NOT_MATCH', 500, Grpc.INTERNAL, 'dapr app-id does not match'),
  OUTBOUND_HEALTH_NOT_READY: row('ERR_OUTBOUND_HEALTH_NOT_READY', 500, Grpc.INTERNAL, 'dapr outbound is not ready'),
  METADATA_KEY_EMPTY: row('ERR_BAD_REQUEST', 400, Grpc.INVALID_ARGUMENT, 'metadata key is empty'),

  // State
  STATE_STORE_NOT_CONFIGURED: row(
    'ERR_STATE_STORE_NOT_CONFIGURED',
    500,
    Grpc.FAILED_PRECONDITION,
    'state store is not configured',
    'DAPR_STATE_NOT_CONFIGURED',
  ),
  STATE_STORE_NOT_FOUND: row(
    'ERR_STATE_STORE_NOT_FOUND',
    400,
    Grpc.INVALID_ARGUMENT,
    'state store %s is not found',
    'DAPR_STATE_NOT_FOUND',
  ),
  STATE_ILLEGAL_KEY: row(
    'ERR_MALFORMED_REQUEST',
    400,
    Grpc.INVALID_ARGUMENT,
    "input key/keyPrefix '%s' can't contain '||'",
    'DAPR_STATE_ILLEGAL_KEY',
  ),
  STATE_KEY_EMPTY: row('ERR_MALFORMED_REQUEST', 400, Grpc.INVALID_ARGUMENT, '"key" is a required field'),
  STATE_GET: row('ERR_STATE_GET', 500, Grpc.INTERNAL, 'fail to get %s from state store %s: %s'),
  STATE_BULK_GET: row('ERR_STATE_BULK_GET', 500, Grpc.INTERNAL, 'failed getting bulk state from state store %s: %s'),
  STATE_SAVE: row('ERR_STATE_SAVE', 500, Grpc.INTERNAL, 'failed saving state in state store %s: %s'),
  STATE_SAVE_ETAG_MISMATCH: row('ERR_STATE_SAVE', 409, Grpc.ABORTED, 'failed saving state in state store %s: %s'),
  STATE_SAVE_ETAG_INVALID: row('ERR_STATE_SAVE', 400, Grpc.INVALID_ARGUMENT, 'failed saving state in state store %s: %s'),
  STATE_DELETE: row('ERR_STATE_DELETE', 500, Grpc.INTERNAL, 'failed deleting state with key %s: %s'),
  STATE_DELETE_ETAG_MISMATCH: row('ERR_STATE_DELETE', 409, Grpc.ABORTED, 'failed deleting state with key %s: %s'),
  STATE_DELETE_ETAG_INVALID: row('ERR_STATE_DELETE', 400, Grpc.INVALID_ARGUMENT, 'failed deleting state with key %s: %s'),
  STATE_DELETE_BULK: row('ERR_STATE_DELETE', 500, Grpc.INTERNAL, 'failed deleting state in state store %s: %s'),
  STATE_TRANSACTIONS_NOT_SUPPORTED: row(
    'ERR_STATE_STORE_NOT_SUPPORTED',
    500,
    Grpc.UNIMPLEMENTED,
    "state store %s doesn't support transaction",
    'DAPR_STATE_TRANSACTIONS_NOT_SUPPORTED',
  ),
  STATE_QUERY_NOT_SUPPORTED: row(
    'ERR_STATE_STORE_NOT_SUPPORTED',
    500,
    Grpc.INTERNAL,
    'state store does not support querying',
    'DAPR_STATE_QUERYING_NOT_SUPPORTED',
  ),
  STATE_OPERATION_NOT_SUPPORTED: row(
    'ERR_NOT_SUPPORTED_STATE_OPERATION',
    400,
    Grpc.UNIMPLEMENTED,
    'operation type %s not supported',
  ),
  STATE_TOO_MANY_TRANSACTIONS: row(
    'ERR_STATE_STORE_TOO_MANY_TRANSACTIONS',
    400,
    Grpc.INVALID_ARGUMENT,
    'the transaction contains %s operations, which is more than what the state store supports: %s',
    'DAPR_STATE_TOO_MANY_TRANSACTIONS',
  ),
  STATE_TRANSACTION: row('ERR_STATE_TRANSACTION', 500, Grpc.INTERNAL, 'error while executing state transaction: %s'),
  STATE_QUERY: row('ERR_STATE_QUERY', 500, Grpc.INTERNAL, 'failed query in state store %s: %s', 'DAPR_STATE_QUERY_FAILED'),
  STATE_QUERY_BAD_REQUEST: row(
    'ERR_MALFORMED_REQUEST',
    400,
    Grpc.INVALID_ARGUMENT,
    'failed parsing state query in state store %s: %s',
  ),
  STATE_BAD_METADATA: row('ERR_MALFORMED_REQUEST', 400, Grpc.INVALID_ARGUMENT, '%s'),

  // Secrets (daprd messages.predefined; a missing store is 401, not 400/404)
  SECRET_STORES_NOT_CONFIGURED: row('ERR_SECRET_STORES_NOT_CONFIGURED', 500, Grpc.FAILED_PRECONDITION, 'secret store is not configured'),
  SECRET_STORE_NOT_FOUND: row('ERR_SECRET_STORE_NOT_FOUND', 401, Grpc.INVALID_ARGUMENT, 'failed finding secret store with key %s'),
  SECRET_PERMISSION_DENIED: row('ERR_PERMISSION_DENIED', 403, Grpc.PERMISSION_DENIED, 'access denied by policy to get "%s" from "%s"', undefined, {
    grpc: Grpc.PERMISSION_DENIED,
    template: 'access denied by policy to get %s from %s',
  }),
  SECRET_GET: row('ERR_SECRET_GET', 500, Grpc.INTERNAL, 'failed getting secret with key %s from secret store %s: %s'),
  SECRET_BULK_GET: row('ERR_SECRET_GET', 500, Grpc.INTERNAL, 'failed getting secrets from secret store %s: %s'),

  // Lock. daprd's APIErrors: on gRPC an ErrorInfo whose reason is the errorCode. Layotto returns
  // component and key errors as bare Go errors, which grpc-go sends as Unknown with the text alone.
  LOCK_STORE_NOT_CONFIGURED: row('ERR_LOCK_STORE_NOT_CONFIGURED', 500, Grpc.FAILED_PRECONDITION, 'lock store is not configured', 'ERR_LOCK_STORE_NOT_CONFIGURED'),
  LOCK_STORE_NOT_FOUND: row('ERR_LOCK_STORE_NOT_FOUND', 400, Grpc.INVALID_ARGUMENT, 'lock store %s not found', 'ERR_LOCK_STORE_NOT_FOUND'),
  LOCK_RESOURCE_ID_EMPTY: row('ERR_MALFORMED_REQUEST', 400, Grpc.INVALID_ARGUMENT, 'ResourceId is empty in lock store %s', 'ERR_MALFORMED_REQUEST'),
  LOCK_OWNER_EMPTY: row('ERR_MALFORMED_REQUEST', 400, Grpc.INVALID_ARGUMENT, 'LockOwner is empty in lock store %s', 'ERR_MALFORMED_REQUEST'),
  LOCK_EXPIRY_NOT_POSITIVE: row(
    'ERR_MALFORMED_REQUEST',
    400,
    Grpc.INVALID_ARGUMENT,
    'ExpiryInSeconds is not positive in lock store %s',
    'ERR_MALFORMED_REQUEST',
    { grpc: Grpc.INVALID_ARGUMENT, template: 'Expire is not positive in lock store %s' },
  ),
  TRY_LOCK: row('ERR_TRY_LOCK', 500, Grpc.INTERNAL, 'failed to try acquiring lock: %s', 'ERR_TRY_LOCK', { grpc: Grpc.UNKNOWN, template: '%s' }),
  UNLOCK: row('ERR_UNLOCK', 500, Grpc.INTERNAL, 'failed to release lock: %s', 'ERR_UNLOCK', { grpc: Grpc.UNKNOWN, template: '%s' }),
  // Layotto API only (daprd has no keep-alive); the Dapr columns are never served.
  LOCK_KEEP_ALIVE: row('ERR_LOCK_KEEP_ALIVE', 500, Grpc.INTERNAL, 'failed to keep the lock alive: %s', undefined, { grpc: Grpc.UNKNOWN, template: '%s' }),

  // Configuration (daprd messages.predefined). Layotto has no error table for it: a store it lacks is
  // the bare "configure store [x] don't support now" and component errors arrive bare, all Unknown.
  CONFIGURATION_STORE_NOT_CONFIGURED: row('ERR_CONFIGURATION_STORE_NOT_CONFIGURED', 500, Grpc.FAILED_PRECONDITION, 'configuration stores not configured'),
  CONFIGURATION_STORE_NOT_FOUND: row('ERR_CONFIGURATION_STORE_NOT_FOUND', 400, Grpc.INVALID_ARGUMENT, 'configuration store %s not found', undefined, {
    grpc: Grpc.UNKNOWN,
    template: "configure store [%s] don't support now",
  }),
  CONFIGURATION_GET: row('ERR_CONFIGURATION_GET', 500, Grpc.INTERNAL, 'failed to get %s from Configuration store %s: %s'),
  CONFIGURATION_SUBSCRIBE: row('ERR_CONFIGURATION_SUBSCRIBE', 500, Grpc.INVALID_ARGUMENT, 'failed to subscribe %s from Configuration store %s: %s'),
  CONFIGURATION_UNSUBSCRIBE: row('ERR_CONFIGURATION_UNSUBSCRIBE', 500, Grpc.INTERNAL, 'failed to unsubscribe to configuration request %s: %s'),
  /** Layotto only (save/delete and its bare component errors); the Dapr columns are never served. */
  CONFIGURATION_STORE: row('ERR_CONFIGURATION_STORE', 500, Grpc.INTERNAL, '%s', undefined, { grpc: Grpc.UNKNOWN, template: '%s' }),
  CONFIGURATION_APP_CHANNEL_NIL: row('ERR_APP_CHANNEL_NIL', 500, Grpc.INTERNAL, 'app channel is not initialized. cannot subscribe to configuration updates'),

  // Sequencer (Layotto API only; the Dapr columns are never served). Layotto returns key and
  // component failures as bare Go errors, which grpc-go sends as Unknown with the text alone.
  SEQUENCER_STORE_NOT_CONFIGURED: row('ERR_SEQUENCER_STORE_NOT_CONFIGURED', 500, Grpc.FAILED_PRECONDITION, 'Sequencer store is not configured'),
  SEQUENCER_KEY_EMPTY: row('ERR_MALFORMED_REQUEST', 400, Grpc.INVALID_ARGUMENT, 'Key is empty in sequencer store %s'),
  SEQUENCER_STORE_NOT_FOUND: row('ERR_SEQUENCER_STORE_NOT_FOUND', 400, Grpc.INVALID_ARGUMENT, 'Sequencer store %s not found'),
  GET_NEXT_ID: row('ERR_GET_NEXT_ID', 500, Grpc.INTERNAL, 'failed to get next id: %s', undefined, { grpc: Grpc.UNKNOWN, template: '%s' }),

  // Pub/sub (daprd's kit errors, pkg/api/errors/pubsub.go; Layotto's texts where it differs)
  PUBSUB_NOT_CONFIGURED: row('ERR_PUBSUB_NOT_CONFIGURED', 400, Grpc.FAILED_PRECONDITION, 'pubsub is not configured', 'DAPR_PUBSUB_NOT_CONFIGURED', {
    grpc: Grpc.FAILED_PRECONDITION,
    template: 'no pubsub is configured',
  }),
  PUBSUB_EMPTY: row('ERR_PUBSUB_EMPTY', 404, Grpc.INVALID_ARGUMENT, 'pubsub name is empty', 'DAPR_PUBSUB_NAME_EMPTY'),
  PUBSUB_NOT_FOUND: row('ERR_PUBSUB_NOT_FOUND', 404, Grpc.INVALID_ARGUMENT, 'pubsub %s not found', 'DAPR_PUBSUB_NOT_FOUND'),
  PUBSUB_TOPIC_EMPTY: row('ERR_TOPIC_NAME_EMPTY', 404, Grpc.INVALID_ARGUMENT, 'topic is empty in pubsub %s', 'DAPR_PUBSUB_TOPIC_NAME_EMPTY'),
  PUBSUB_REQUEST_METADATA: row('ERR_PUBSUB_REQUEST_METADATA', 400, Grpc.INVALID_ARGUMENT, 'failed deserializing metadata. Error: %s', 'DAPR_PUBSUB_METADATA_DESERIALIZATION'),
  PUBSUB_CLOUD_EVENT_CREATION: row('ERR_PUBSUB_CLOUD_EVENTS_SER', 500, Grpc.INVALID_ARGUMENT, 'cannot create cloudevent: %s', 'DAPR_PUBSUB_CLOUD_EVENT_CREATION'),
  PUBSUB_FORBIDDEN: row('ERR_PUBSUB_FORBIDDEN', 403, Grpc.PERMISSION_DENIED, 'topic %s is not allowed for app id %s', 'DAPR_PUBSUB_FORBIDDEN'),
  PUBSUB_PUBLISH_MESSAGE: row('ERR_PUBSUB_PUBLISH_MESSAGE', 500, Grpc.INTERNAL, 'error when publishing to topic %s in pubsub %s: %s', 'DAPR_PUBSUB_PUBLISH_MESSAGE', {
    grpc: Grpc.INTERNAL,
    template: 'error when publish to topic %s in pubsub %s: %s',
  }),
  PUBSUB_UNMARSHAL_EVENTS: row('ERR_PUBSUB_EVENTS_SER', 400, Grpc.INVALID_ARGUMENT, 'error when unmarshaling the request for topic %s pubsub %s: %s', 'DAPR_PUBSUB_UNMARSHAL_EVENTS'),
  PUBSUB_MARSHAL_EVENTS: row('ERR_PUBSUB_EVENTS_SER', 400, Grpc.INVALID_ARGUMENT, 'error marshaling events to bytes for topic %s pubsub %s. error: %s', 'DAPR_PUBSUB_MARSHAL_EVENTS'),
  PUBSUB_MARSHAL_ENVELOPE: row('ERR_PUBSUB_CLOUD_EVENTS_SER', 500, Grpc.INVALID_ARGUMENT, 'error when marshalling cloud event envelope for topic %s pubsub %s: %s', 'DAPR_PUBSUB_MARSHAL_ENVELOPE'),
  /** Streaming subscriptions (SubscribeTopicEvents): bad first message, duplicate stream. */
  PUBSUB_STREAM: row('ERR_PUBSUB_SUBSCRIBE', 400, Grpc.INVALID_ARGUMENT, '%s'),
  // daprd refuses a streaming subscription outside the topic scopes with a plain error (gRPC Unknown).
  PUBSUB_STREAM_FORBIDDEN: row('ERR_PUBSUB_FORBIDDEN', 403, Grpc.UNKNOWN, "failed to create subscription for %s: subscription to topic '%s' on pubsub '%s' is not allowed"),
  PUBSUB_STREAM_ALREADY: row('ERR_PUBSUB_SUBSCRIBE', 400, Grpc.ALREADY_EXISTS, 'already subscribed to pubsub %s topic %s'),

  // Output bindings: every failure, an unknown binding included, is 500/Internal (daprd's
  // onOutputBindingMessage and InvokeBinding); Layotto words it its own way, also Internal.
  INVOKE_OUTPUT_BINDING: row('ERR_INVOKE_OUTPUT_BINDING', 500, Grpc.INTERNAL, 'error invoking output binding %s: %s', undefined, {
    grpc: Grpc.INTERNAL,
    template: 'error when invoke output binding %s: %s',
  }),

  // File (Layotto API only; the Dapr columns are never served). Layotto's texts: an unknown store
  // is "not support store type" (GetFile: "not supported"), component errors keep their own text
  // under FileErrMap2GrpcErr's code (missing file NotFound, ...), anything else is Internal.
  FILE_STORE_NOT_FOUND: row('ERR_FILE_STORE_NOT_FOUND', 400, Grpc.INVALID_ARGUMENT, 'not support store type: %s'),
  FILE_STORE_NOT_SUPPORTED: row('ERR_FILE_STORE_NOT_FOUND', 400, Grpc.INVALID_ARGUMENT, 'not supported store type: %s'),
  FILE_REQUEST_NIL: row('ERR_MALFORMED_REQUEST', 400, Grpc.INVALID_ARGUMENT, "request can't be nil"),
  FILE_NAME_EMPTY: row('ERR_MALFORMED_REQUEST', 400, Grpc.INVALID_ARGUMENT, 'file name is empty in file store %s'),
  FILE_INVALID: row('ERR_MALFORMED_REQUEST', 400, Grpc.INVALID_ARGUMENT, '%s'),
  FILE_NOT_FOUND: row('ERR_FILE_NOT_FOUND', 404, Grpc.NOT_FOUND, '%s'),
  FILE_EXISTS: row('ERR_FILE_EXISTS', 409, Grpc.ALREADY_EXISTS, '%s'),
  FILE_PERMISSION: row('ERR_PERMISSION_DENIED', 403, Grpc.PERMISSION_DENIED, '%s'),
  FILE_GET: row('ERR_FILE_GET', 500, Grpc.INTERNAL, 'get file fail,err: %s'),
  FILE_STORE: row('ERR_FILE_STORE', 500, Grpc.INTERNAL, '%s'),

  // Hello (Layotto)
  HELLO_NOT_FOUND: row('ERR_HELLO_NOT_FOUND', 400, Grpc.INTERNAL, 'no instance found', undefined, {
    grpc: Grpc.UNKNOWN, // Layotto returns the bare Go error ErrNoInstance, which grpc-go sends as Unknown
    template: 'no instance found',
  }),

  // Lifecycle.ApplyConfiguration (Layotto API only; pkg/grpc/lifecycle texts).
  LIFECYCLE_NO_FIELD: row('ERR_MALFORMED_REQUEST', 400, Grpc.INVALID_ARGUMENT, 'field %s is not configured'),
  LIFECYCLE_COMPONENT_NOT_FOUND: row('ERR_COMPONENT_NOT_FOUND', 400, Grpc.INVALID_ARGUMENT, 'component not found. kind: %s , name: %s'),
  LIFECYCLE_NOT_SUPPORTED: row('ERR_API_UNIMPLEMENTED', 501, Grpc.UNIMPLEMENTED, 'component kind: %s , name: %s can not be re-configured while running'),
  LIFECYCLE_APPLY: row('ERR_COMPONENT_INIT', 500, Grpc.INTERNAL, 'fail to apply configuration to component kind: %s , name: %s: %s'),
} satisfies Record<string, ErrorRow>;

export type ErrorKind = keyof typeof ERRORS;
