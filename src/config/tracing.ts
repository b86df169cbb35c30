// Configuration `spec.tracing` as daprd reads it (TracingSpec): the sampling rate, then one or more
// exporters (stdout, zipkin, otel over http or gRPC).
import { z } from 'zod';

const flag = z.union([z.boolean(), z.stringbool()]);

export const tracingSchema = z.object({
  samplingRate: z.union([z.string(), z.number()]).transform(String).optional(),
  stdout: flag.optional(),
  zipkin: z.object({ endpointAddress: z.string().default('') }).nullish(),
  otel: z
    .object({
      protocol: z.string().default(''),
      endpointAddress: z.string().default(''),
      /** daprd's default: true. */
      isSecure: flag.optional(),
      /** "key1=value1,key2=value2", as daprd's OtelSpec.Headers. */
      headers: z.string().default(''),
      /** Export timeout in milliseconds (daprd's default 10000). */
      timeout: z.coerce.number().int().nonnegative().optional(),
    })
    .nullish(),
});
export type TracingConfig = z.infer<typeof tracingSchema>;
