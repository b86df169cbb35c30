// zod schemas for Dapr resource manifests: Component, Subscription and Resiliency are read; the
// other kinds are recognised so the loader can skip them knowingly.
import { z } from 'zod';

/** Names as daprd accepts them: letters, digits, '-', '_', '.'; no separators or spaces. */
const resourceName = z
  .string()
  .min(1, 'must not be empty')
  .regex(/^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$/, 'must be alphanumeric characters, "-", "_" or "." and start and end with an alphanumeric character');

/** YAML scalars (numbers, booleans) become strings, as daprd's DynamicValue does. */
const scalar = z.union([z.string(), z.number(), z.boolean(), z.null()]).transform((v) => (v === null ? '' : String(v)));

export const metadataItemSchema = z
  .object({
    name: z.string().min(1, 'must not be empty'),
    value: scalar.optional(),
    secretKeyRef: z.object({ name: z.string().min(1), key: z.string().optional().default('') }).optional(),
    envRef: z.string().min(1).optional(),
  })
  .refine((m) => [m.value, m.secretKeyRef, m.envRef].filter((x) => x !== undefined).length <= 1, {
    message: 'only one of value, secretKeyRef and envRef may be set',
  });
export type MetadataItem = z.infer<typeof metadataItemSchema>;

export const componentSchema = z.object({
  apiVersion: z.string().min(1),
  kind: z.literal('Component'),
  metadata: z.object({ name: resourceName, namespace: z.string().optional() }),
  spec: z.object({
    type: z.string().regex(/^[a-z0-9]+(\.[a-z0-9_.-]+)+$/i, 'must be <building-block>.<name>, e.g. state.redis'),
    version: z.string().optional().default(''),
    ignoreErrors: z.union([z.boolean(), z.string().transform((s) => s === 'true')]).optional().default(false),
    initTimeout: z.string().optional(),
    metadata: z.array(metadataItemSchema).nullish().transform((v) => v ?? []),
  }),
  auth: z.object({ secretStore: z.string().optional() }).optional(),
  scopes: z.array(z.string()).nullish().transform((v) => v ?? []),
});
export type ComponentManifest = z.infer<typeof componentSchema>;

/** Kinds a resources directory may hold (MeshProxy and WasmFunction are this runtime's own). */
export const KNOWN_KINDS = ['Component', 'Configuration', 'Subscription', 'Resiliency', 'HTTPEndpoint', 'MeshProxy', 'WasmFunction', 'WorkflowAccessPolicy', 'MCPServer'];

/** bulkSubscribe as both Subscription versions spell it. */
const bulkSubscribeSchema = z
  .object({
    enabled: z.union([z.boolean(), z.string().transform((s) => s === 'true')]).optional().default(false),
    maxMessagesCount: z.coerce.number().int().positive().optional(),
    maxAwaitDurationMs: z.coerce.number().int().positive().optional(),
  })
  .optional();

const subscriptionMetadata = z
  .record(z.string(), scalar)
  .nullish()
  .transform((v) => v ?? {});

/**
 * Subscription, dapr.io/v1alpha1 (spec.route) or dapr.io/v2alpha1 (spec.routes.rules with CEL
 * matches and routes.default). Both become one shape: rules + default route.
 */
export const subscriptionSchema = z
  .object({
    apiVersion: z.string().min(1),
    kind: z.literal('Subscription'),
    metadata: z.object({ name: resourceName, namespace: z.string().optional() }),
    spec: z.object({
      pubsubname: z.string().min(1, 'must not be empty'),
      topic: z.string().min(1, 'must not be empty'),
      route: z.string().optional(),
      routes: z
        .object({
          rules: z.array(z.object({ match: z.string().optional().default(''), path: z.string().min(1, 'must not be empty') })).nullish().transform((v) => v ?? []),
          default: z.string().optional().default(''),
        })
        .optional(),
      metadata: subscriptionMetadata,
      deadLetterTopic: z.string().optional().default(''),
      bulkSubscribe: bulkSubscribeSchema,
    }),
    scopes: z.array(z.string()).nullish().transform((v) => v ?? []),
  })
  .refine((s) => s.spec.route || (s.spec.routes && (s.spec.routes.rules.length > 0 || s.spec.routes.default)), {
    message: 'a subscription needs spec.route (v1alpha1) or spec.routes with rules or a default (v2alpha1)',
    path: ['spec'],
  });
export type SubscriptionManifest = z.infer<typeof subscriptionSchema>;

const httpUrl = z.string().refine((u) => {
  try {
    return ['http:', 'https:'].includes(new URL(u).protocol);
  } catch {
    return false;
  }
}, 'must be an http:// or https:// URL');

/**
 * HTTPEndpoint (dapr.io/v1alpha1): a name for a non-Dapr HTTP service that service invocation
 * calls directly; `headers` items take a value or a secretKeyRef like component metadata.
 */
export const httpEndpointSchema = z.object({
  apiVersion: z.string().min(1),
  kind: z.literal('HTTPEndpoint'),
  metadata: z.object({ name: resourceName, namespace: z.string().optional() }),
  spec: z.object({
    baseUrl: httpUrl,
    headers: z.array(metadataItemSchema).nullish().transform((v) => v ?? []),
    clientTLS: z.unknown().optional(),
  }),
  auth: z.object({ secretStore: z.string().optional() }).optional(),
  scopes: z.array(z.string()).nullish().transform((v) => v ?? []),
});
export type HttpEndpointManifest = z.infer<typeof httpEndpointSchema>;

/** A duration as daprd reads it: a Go duration string ("5s", "1m30s") or a number of milliseconds. */
const durationValue = z.union([z.string(), z.number()]);
const policyNames = z
  .object({ timeout: z.string().optional(), retry: z.string().optional(), circuitBreaker: z.string().optional() })
  .nullish()
  .transform((v) => v ?? {});
const nullishRecord = <T extends z.ZodType>(value: T) =>
  z
    .record(z.string(), value)
    .nullish()
    .transform((v) => v ?? {});

/**
 * Resiliency (dapr.io/v1alpha1): named timeout, retry and circuit breaker policies and the targets
 * they apply to. Only the shape is checked here; src/config/resiliency.ts checks the values
 * (durations, trip expressions, status codes, policy names).
 */
export const resiliencySchema = z.object({
  apiVersion: z.string().min(1),
  kind: z.literal('Resiliency'),
  metadata: z.object({ name: resourceName, namespace: z.string().optional() }),
  spec: z
    .object({
      policies: z
        .object({
          timeouts: nullishRecord(durationValue),
          retries: nullishRecord(
            z.object({
              policy: z.string().optional(),
              duration: durationValue.optional(),
              maxInterval: durationValue.optional(),
              maxRetries: z.union([z.number(), z.string()]).optional(),
              matching: z.object({ httpStatusCodes: z.string().optional(), gRPCStatusCodes: z.string().optional() }).nullish(),
            }),
          ),
          circuitBreakers: nullishRecord(
            z.object({
              maxRequests: z.union([z.number(), z.string()]).optional(),
              interval: durationValue.optional(),
              timeout: durationValue.optional(),
              trip: z.string().optional(),
            }),
          ),
        })
        .nullish()
        .transform((v) => v ?? { timeouts: {}, retries: {}, circuitBreakers: {} }),
      targets: z
        .object({
          apps: nullishRecord(
            z
              .object({ timeout: z.string().optional(), retry: z.string().optional(), circuitBreaker: z.string().optional(), circuitBreakerCacheSize: z.union([z.number(), z.string()]).optional() })
              .nullish()
              .transform((v) => v ?? {}),
          ),
          // Actors are not part of this runtime; their targets are accepted and ignored.
          actors: z.unknown().optional(),
          components: nullishRecord(
            z
              .object({ inbound: policyNames, outbound: policyNames })
              .nullish()
              .transform((v) => v ?? { inbound: {}, outbound: {} }),
          ),
        })
        .nullish()
        .transform((v) => v ?? { apps: {}, components: {} }),
    })
    .nullish()
    .transform((v) => v ?? { policies: { timeouts: {}, retries: {}, circuitBreakers: {} }, targets: { apps: {}, components: {} } }),
  scopes: z.array(z.string()).nullish().transform((v) => v ?? []),
});
export type ResiliencyManifest = z.infer<typeof resiliencySchema>;
