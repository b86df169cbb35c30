// The Configuration resource (`--config <file>`, kind: Configuration). Only what the runtime acts
// on is read (secrets.scopes, nameResolution, pipelines, tracing, metrics, logging, accessControl,
// mtls); other spec keys are accepted and ignored; a malformed file stops startup with file:line,
// like a bad component manifest.
import { readFileSync } from 'node:fs';
import { isNode, LineCounter, parseAllDocuments } from 'yaml';
import { z } from 'zod';
import { ManifestError } from '../runtime/loader';
import { type TracingConfig, tracingSchema } from './tracing';
import { type LoggingConfig, loggingSchema, type MetricsConfig, metricsSchema } from './observability';
import { type AccessControlConfig, accessControlSchema } from './access-control';

const secretScopeSchema = z.object({
  storeName: z.string().min(1, 'must not be empty'),
  defaultAccess: z
    .string()
    .optional()
    .refine((v) => v === undefined || v === '' || /^(allow|deny)$/i.test(v), 'defaultAccess can be either allow or deny'),
  allowedSecrets: z.array(z.string()).nullish().transform((v) => v ?? []),
  deniedSecrets: z.array(z.string()).nullish().transform((v) => v ?? []),
});
export type SecretScopeConfig = z.infer<typeof secretScopeSchema>;

/** spec.nameResolution: which resolver finds other apps' sidecars, and its free-form configuration. */
const nameResolutionSchema = z.object({
  component: z.string().default(''),
  version: z.string().default(''),
  configuration: z.unknown().optional(),
});
export type NameResolutionConfig = z.infer<typeof nameResolutionSchema>;

/** spec.httpPipeline / spec.grpcPipeline: middleware components, by name and type, in order. */
const pipelineSchema = z
  .object({ handlers: z.array(z.object({ name: z.string().min(1, 'must not be empty'), type: z.string().min(1, 'must not be empty'), version: z.string().default('') }).loose()).nullish().transform((v) => v ?? []) })
  .loose();
/** One pipeline handler, with where it was written for startup errors. */
export interface PipelineHandler {
  name: string;
  type: string;
  version: string;
  file: string;
  line: number;
}

const configurationSchema = z.object({
  apiVersion: z.string().min(1),
  kind: z.literal('Configuration'),
  metadata: z.object({ name: z.string().optional() }).loose().optional(),
  spec: z
    .object({
      secrets: z
        .object({ scopes: z.array(secretScopeSchema).nullish().transform((v) => v ?? []) })
        .nullish()
        .transform((v) => v ?? { scopes: [] }),
      nameResolution: nameResolutionSchema.nullish(),
      httpPipeline: pipelineSchema.nullish(),
      grpcPipeline: pipelineSchema.nullish(),
      tracing: tracingSchema.nullish(),
      metrics: metricsSchema.nullish(),
      metric: metricsSchema.nullish(),
      logging: loggingSchema.nullish(),
      accessControl: accessControlSchema.nullish(),
      // daprd reads the rest (workloadCertTTL, allowedClockSkew, sentryAddress…) for Sentry, which this sidecar has none of.
      mtls: z.object({ enabled: z.boolean().optional() }).loose().nullish(),
      features: z.array(z.object({ name: z.string().min(1, 'must not be empty'), enabled: z.union([z.boolean(), z.enum(['true', 'false']).transform((v) => v === 'true')], { error: 'must be true or false' }) }).loose()).nullish(),
    })
    .loose()
    .nullish()
    .transform((v) => v ?? { secrets: { scopes: [] } }),
});

export interface RuntimeConfiguration {
  secrets: { scopes: SecretScopeConfig[] };
  /** Unset: the mode's default resolver. Several files: the last one that sets it. */
  nameResolution?: NameResolutionConfig;
  /** Middleware on the Dapr HTTP API (daprd's httpPipeline) and, our addition, on the gRPC APIs; the last file that sets one. */
  httpPipeline?: PipelineHandler[];
  grpcPipeline?: PipelineHandler[];
  /** spec.tracing of the last file that has one; unset = no tracing. */
  tracing?: TracingConfig;
  /** spec.metrics (or legacy spec.metric) and spec.logging of the last file that has them. */
  metrics?: MetricsConfig;
  logging?: LoggingConfig;
  /** spec.accessControl of the last file that has one; unset = calls from other sidecars all allowed. */
  accessControl?: AccessControlConfig;
  /** spec.mtls.enabled of the last file that sets it (--enable-mtls wins over it). */
  mtlsEnabled?: boolean;
  /** spec.features (preview feature gates) by name; a later file's entry wins. */
  features?: Record<string, boolean>;
}

/** Reads every --config file (each may hold several YAML documents) into one configuration. */
export function loadConfiguration(files: readonly string[]): RuntimeConfiguration {
  const scopes: SecretScopeConfig[] = [];
  let nameResolution: NameResolutionConfig | undefined;
  const pipelines: Pick<RuntimeConfiguration, 'httpPipeline' | 'grpcPipeline'> = {};
  let tracing: TracingConfig | undefined;
  let observability: Pick<RuntimeConfiguration, 'metrics' | 'logging'> = {};
  let accessControl: AccessControlConfig | undefined;
  let mtlsEnabled: boolean | undefined;
  let features: Record<string, boolean> | undefined;
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      throw new ManifestError(file, 0, '', `cannot read configuration: ${(e as Error).message}`);
    }
    const counter = new LineCounter();
    for (const doc of parseAllDocuments(text, { lineCounter: counter, prettyErrors: false })) {
      const lineAt = (offset: number) => counter.linePos(offset).line;
      if (doc.errors.length > 0) throw new ManifestError(file, lineAt(doc.errors[0]!.pos[0]), '', `YAML syntax error: ${doc.errors[0]!.message.split('\n')[0]}`);
      const value: unknown = doc.toJS();
      if (value === null || value === undefined) continue;
      const lineOf = (path: PropertyKey[]): number => {
        for (let n = path.length; n > 0; n--) {
          const node = doc.getIn(path.slice(0, n) as (string | number)[], true);
          if (isNode(node) && node.range) return lineAt(node.range[0]);
        }
        return lineAt(doc.range[0]);
      };
      const parsed = configurationSchema.safeParse(value);
      if (!parsed.success) {
        const issue = parsed.error.issues[0]!;
        throw new ManifestError(file, lineOf(issue.path), issue.path.join('.'), issue.message);
      }
      for (const [i, scope] of parsed.data.spec.secrets.scopes.entries()) {
        if (scopes.some((s) => s.storeName === scope.storeName)) {
          const at = lineOf(['spec', 'secrets', 'scopes', i, 'storeName']);
          throw new ManifestError(file, at, `spec.secrets.scopes.${i}.storeName`, `"${scope.storeName}" storeName is repeated in secrets configuration`);
        }
        scopes.push(scope);
      }
      if (parsed.data.spec.nameResolution?.component) nameResolution = parsed.data.spec.nameResolution;
      for (const key of ['httpPipeline', 'grpcPipeline'] as const) {
        const handlers = parsed.data.spec[key]?.handlers;
        if (handlers?.length) pipelines[key] = handlers.map((h, i) => ({ name: h.name, type: h.type, version: h.version, file, line: lineOf(['spec', key, 'handlers', i]) }));
      }
      if (parsed.data.spec.tracing) tracing = parsed.data.spec.tracing;
      const metrics = parsed.data.spec.metrics ?? parsed.data.spec.metric;
      if (metrics) observability = { ...observability, metrics };
      if (parsed.data.spec.logging) observability = { ...observability, logging: parsed.data.spec.logging };
      if (parsed.data.spec.accessControl) accessControl = parsed.data.spec.accessControl;
      if (parsed.data.spec.mtls?.enabled !== undefined) mtlsEnabled = parsed.data.spec.mtls.enabled;
      for (const f of parsed.data.spec.features ?? []) (features ??= {})[f.name] = f.enabled;
    }
  }
  return { secrets: { scopes }, ...(nameResolution ? { nameResolution } : {}), ...pipelines, ...(tracing ? { tracing } : {}), ...observability, ...(accessControl ? { accessControl } : {}), ...(mtlsEnabled !== undefined ? { mtlsEnabled } : {}), ...(features ? { features } : {}) };
}
