// Configuration spec.metrics (or the legacy spec.metric) and spec.logging, as daprd's MetricSpec and
// LoggingSpec read them. Kept apart from configuration.ts so each feature's schema stays small.
import { z } from 'zod';

const flag = z.union([z.boolean(), z.stringbool()]);

export const metricsSchema = z.object({
  enabled: flag.optional(),
  recordErrorCodes: flag.optional(),
  /** Histogram bucket bounds in milliseconds for every latency family. */
  latencyDistributionBuckets: z.array(z.coerce.number().positive()).nullish(),
  http: z
    .object({
      /** daprd's default is true: the path label carries the (here: templated) path and the verb. */
      increasedCardinality: flag.optional(),
      /** Go ServeMux patterns ("/orders/{id}") that name the path label of matching requests. */
      pathMatching: z.array(z.string()).nullish(),
      excludeVerbs: flag.optional(),
    })
    .loose()
    .nullish(),
});
export type MetricsConfig = z.infer<typeof metricsSchema>;

export const loggingSchema = z.object({
  apiLogging: z
    .object({ enabled: flag.optional(), obfuscateURLs: flag.optional(), omitHealthChecks: flag.optional() })
    .loose()
    .nullish(),
});
export type LoggingConfig = z.infer<typeof loggingSchema>;
