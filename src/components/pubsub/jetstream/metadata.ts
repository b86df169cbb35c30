// pubsub.jetstream metadata, contrib's names and defaults (pubsub/jetstream/metadata.go). Fields
// contrib only reads for push consumers (flowControl, rateLimit, heartbeat) are accepted and
// ignored: this component reads through pull consumers (see consumer.ts).
import { z } from 'zod';
import { durationMs, parseDuration, parseMetadata } from '../../metadata';
import { ComponentConfigError } from '../../types';

const concurrency = z.enum(['single', 'parallel']);
const count = () => z.coerce.number().int().positive();

const schema = z.object({
  natsURL: z.string({ error: 'natsURL is required' }),
  jwt: z.string().optional(),
  seedKey: z.string().optional(),
  token: z.string().optional(),
  tls_client_cert: z.string().optional(),
  tls_client_key: z.string().optional(),
  name: z.string().default('dapr.io - pubsub.jetstream'),
  streamName: z.string().optional(),
  durableName: z.string().optional(),
  queueGroupName: z.string().optional(),
  consumerID: z.string().optional(),
  deliverPolicy: z.enum(['all', 'last', 'new', 'sequence', 'time']).default('all'),
  startSequence: count().optional(),
  /** Unix seconds. */
  startTime: z.coerce.number().int().min(0).optional(),
  ackPolicy: z.literal('explicit', { error: 'only "explicit" is supported: each message is acked once its handler succeeds' }).default('explicit'),
  ackWait: durationMs().optional(),
  maxDeliver: z.coerce.number().int().optional(),
  /** Comma-separated durations ("500ms, 2s, 10s"): the consumer's redelivery schedule. */
  backOff: z.string().optional(),
  maxAckPending: count().optional(),
  replicas: count().optional(),
  memoryStorage: z.stringbool().default(false),
  domain: z.string().optional(),
  apiPrefix: z.string().optional(),
  concurrency: concurrency.default('single'),
  /** contrib's generic key; wins over `concurrency` as in contrib. */
  concurrencyMode: concurrency.optional(),
});

export type JetStreamConfig = Omit<z.infer<typeof schema>, 'backOff' | 'concurrencyMode'> & {
  /** Milliseconds. */
  backOff: number[];
};

const fail = (field: string, message: string): never => {
  throw new ComponentConfigError(`metadata field "${field}": ${message}`, field);
};

export function parseJetStreamMetadata(props: Record<string, string>): JetStreamConfig {
  const { backOff, concurrencyMode, ...md } = parseMetadata(schema, props);
  if (md.jwt && !md.seedKey) fail('seedKey', 'missing seed key (jwt needs it)');
  if (md.seedKey && !md.jwt) fail('jwt', 'missing jwt (seedKey needs it)');
  if (md.tls_client_cert && !md.tls_client_key) fail('tls_client_key', 'missing tls client key');
  if (md.tls_client_key && !md.tls_client_cert) fail('tls_client_cert', 'missing tls client cert');
  // The server rejects a start sequence/time under another policy; say so before subscribing.
  if ((md.deliverPolicy === 'sequence') !== (md.startSequence !== undefined)) fail('startSequence', 'startSequence goes with deliverPolicy "sequence", and only with it');
  if ((md.deliverPolicy === 'time') !== (md.startTime !== undefined)) fail('startTime', 'startTime goes with deliverPolicy "time", and only with it');
  return { ...md, concurrency: concurrencyMode ?? md.concurrency, backOff: parseBackOff(backOff) };
}

function parseBackOff(value: string | undefined): number[] {
  if (!value) return [];
  return value
    .replace(/^\[|\]$/g, '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => {
      try {
        return parseDuration(s);
      } catch (e) {
        return fail('backOff', (e as Error).message);
      }
    });
}
