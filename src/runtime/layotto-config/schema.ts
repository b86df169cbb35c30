// zod schemas for Layotto's config.json (a MOSN v2 config; reference layotto.md §2): the servers →
// listeners → filter_chains → filters skeleton, the `grpc` filter's config, and the component
// entries of `grpc_config`. Objects are loose: keys nobody reads are found and reported by the
// translator, not rejected here.
import { z } from 'zod';
import { layottoFunctionSchema } from '../../faas/spec';

const object = <S extends z.core.$ZodLooseShape>(shape: S) => z.looseObject(shape, { error: 'expected an object' });
const map = <V extends z.ZodType>(value: V) => z.record(z.string(), value, { error: 'expected an object' });
const list = <V extends z.ZodType>(item: V) => z.array(item, { error: 'expected an array' });
const text = z.string({ error: 'expected a string' });

/** Metadata values: Layotto's are strings; numbers and booleans are taken as their text. */
const scalar = z.union([z.string(), z.number(), z.boolean()], { error: 'expected a string' }).transform(String);

export const secretRefSchema = object({
  store_name: text.min(1, 'must not be empty'),
  key: text.min(1, 'must not be empty'),
  sub_key: text.optional(),
  inject_as: text.min(1, 'must not be empty'),
});

/** One `grpc_config.<section>.<name>` entry; the section-specific keys are optional here. */
export const componentEntrySchema = object({
  type: text.min(1, 'must not be empty').optional(),
  metadata: map(scalar).optional(),
  secret_ref: list(secretRefSchema).optional(),
  component_ref: object({ secret_store: text.optional(), config_store: text.optional() }).optional(),
  // hellos
  hello: text.optional(),
  // config_store
  address: list(text).optional(),
  timeout: z.union([z.string(), z.number()], { error: 'expected a string' }).transform(String).optional(),
  store_name: text.optional(),
  app_id: text.optional(),
  // sequencer: ids handed out for each key are bigger than this
  biggerThan: map(z.union([z.number().int().nonnegative(), z.string().regex(/^\d+$/)], { error: 'expected a non-negative integer' }).transform(String)).optional(),
});
export type ComponentEntry = z.infer<typeof componentEntrySchema>;

export const appSchema = object({
  app_id: text.optional(),
  grpc_callback_port: z.number({ error: 'expected a port number' }).int().min(0).max(65535).optional(),
  grpc_callback_host: text.optional(),
});
export type AppSection = z.infer<typeof appSchema>;

/** `grpc_config`: every section is name → entry, except app (one object) and the raw ones. */
export const grpcConfigSchema = object({ app: appSchema.optional() }).catchall(z.unknown());

/** The config of a `grpc` network filter. */
export const grpcFilterConfigSchema = object({
  server_name: text.optional(),
  grpc_config: grpcConfigSchema.optional(),
});

const typedSchema = object({ type: text.min(1, 'must not be empty'), config: z.unknown().optional() });
export type TypedConfig = { type: string; config?: unknown };

export const listenerSchema = object({
  name: text.optional(),
  address: text.optional(),
  network: text.optional(),
  filter_chains: list(object({ filters: list(typedSchema).optional() })).optional(),
  stream_filters: list(typedSchema).optional(),
});

export const mosnConfigSchema = object({
  servers: list(object({ listeners: list(listenerSchema).optional() })).min(1, 'needs at least one server'),
});
export type MosnConfig = z.infer<typeof mosnConfigSchema>;

/** The config of a `Layotto` stream filter: key → function (Layotto's /wasm/install body). */
export const faasFilterConfigSchema = map(layottoFunctionSchema);
