// bindings.mqtt3 metadata, contrib's names and code defaults (bindings/mqtt3/metadata.go): url and
// topic are required, consumerID names the two MQTT clients ("<id>-consumer" reads, "<id>-producer"
// publishes), QoS is always 1 (contrib ignores the deprecated `qos`), a persistent session unless
// cleanSession=true. backOffMaxRetries bounds the redeliveries of a message the app refused.
import { z } from 'zod';
import { parseMetadata } from '../../metadata';
import type { Mqtt3Config } from '../../pubsub/mqtt3/metadata';
import { parseBrokerUrl } from '../../pubsub/mqtt3/metadata';

/** contrib's constant back-off between redeliveries of a refused message. */
export const REDELIVERY_DELAY_MS = 5000;

const schema = z.object({
  url: z.string({ error: 'missing url' }),
  topic: z.string({ error: 'missing topic' }),
  consumerID: z.string({ error: 'missing consumerID' }),
  retain: z.stringbool().default(false),
  cleanSession: z.stringbool().default(false),
  backOffMaxRetries: z.coerce.number().int().min(-1).default(3),
  caCert: z.string().optional(),
  clientCert: z.string().optional(),
  clientKey: z.string().optional(),
});

export interface Mqtt3BindingConfig {
  topic: string;
  /** The connection settings pub/sub's openClient takes; clientId is the bare consumerID. */
  connection: Mqtt3Config;
}

export function parseMqtt3BindingMetadata(props: Record<string, string>): Mqtt3BindingConfig {
  const m = parseMetadata(schema, props);
  return {
    topic: m.topic,
    connection: {
      broker: parseBrokerUrl(m.url),
      clientId: m.consumerID,
      qos: 1,
      retain: m.retain,
      cleanSession: m.cleanSession,
      tls: { ca: m.caCert, cert: m.clientCert, key: m.clientKey },
      backOff: { policy: 'constant', durationMs: REDELIVERY_DELAY_MS, initialMs: REDELIVERY_DELAY_MS, maxMs: REDELIVERY_DELAY_MS, maxRetries: m.backOffMaxRetries },
    },
  };
}
