// dapr_error_code_total's category label: the building block an ERR_* code belongs to, named as
// daprd's errorcodes categories are ("state", "pubsub", ..., "common" for the rest).
const CATEGORIES: [prefix: string, category: string][] = [
  ['ERR_STATE_', 'state'],
  ['ERR_NOT_SUPPORTED_STATE', 'state'],
  ['ERR_PUBSUB_', 'pubsub'],
  ['ERR_TOPIC_', 'pubsub'],
  ['ERR_PUBLISH_', 'pubsub'],
  ['ERR_SECRET', 'secret'],
  ['ERR_CONFIGURATION_', 'configuration'],
  ['ERR_LOCK_', 'lock'],
  ['ERR_TRY_LOCK', 'lock'],
  ['ERR_UNLOCK', 'lock'],
  ['ERR_INVOKE_OUTPUT_BINDING', 'bindings'],
  ['ERR_DIRECT_INVOKE', 'service-invocation'],
  ['ERR_HEALTH_', 'health'],
  ['ERR_OUTBOUND_HEALTH', 'health'],
  ['ERR_ACTOR', 'actor-api'],
  ['ERR_CRYPTO', 'crypto'],
  ['ERR_CONVERSATION', 'conversation'],
];

export function errorCategory(code: string): string {
  for (const [prefix, category] of CATEGORIES) if (code.startsWith(prefix)) return category;
  return 'common';
}
