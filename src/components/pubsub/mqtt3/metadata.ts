// pubsub.mqtt3 metadata, contrib's names and defaults (pubsub/mqtt3/metadata.go): the broker URL
// carries the credentials, consumerID is the MQTT client id, QoS 1 and a persistent session
// (cleanSession=false) by default. The backOff* fields (dapr kit's retry names) shape the
// in-process redelivery of messages whose handler failed (see index.ts).
import { z } from 'zod';
import { durationMs, parseMetadata } from '../../metadata';
import { ComponentConfigError } from '../../types';
import type { BackOff } from './backoff';

const schema = z.object({
  url: z.string({ error: 'missing url (tcp://[user[:password]@]host[:port] or ssl://...)' }),
  consumerID: z.string({ error: 'missing consumerID (the MQTT client id)' }),
  qos: z.coerce.number().int().min(0).max(2).default(1),
  retain: z.stringbool().default(false),
  cleanSession: z.stringbool().default(false),
  caCert: z.string().optional(),
  clientCert: z.string().optional(),
  clientKey: z.string().optional(),
  backOffPolicy: z.enum(['constant', 'exponential']).default('constant'),
  backOffDuration: durationMs().default(5000),
  backOffInitialInterval: durationMs().default(500),
  backOffMaxInterval: durationMs().default(60000),
  /** -1: retry until the handler succeeds or the subscription closes. */
  backOffMaxRetries: z.coerce.number().int().min(-1).default(-1),
});

export type Protocol = 'mqtt' | 'mqtts' | 'ws' | 'wss';

export interface Broker {
  protocol: Protocol;
  host: string;
  port: number;
  /** Only for ws/wss. */
  path?: string;
  username?: string;
  password?: string;
}

export interface Mqtt3Config {
  broker: Broker;
  clientId: string;
  qos: 0 | 1 | 2;
  retain: boolean;
  cleanSession: boolean;
  tls: { ca?: string; cert?: string; key?: string };
  backOff: BackOff;
}

// The schemes contrib (paho) accepts, with its backwards-compatible aliases.
const SCHEMES: Record<string, Protocol> = { tcp: 'mqtt', mqtt: 'mqtt', ssl: 'mqtts', mqtts: 'mqtts', tcps: 'mqtts', tls: 'mqtts', ws: 'ws', wss: 'wss' };
const DEFAULT_PORTS: Record<Protocol, number> = { mqtt: 1883, mqtts: 8883, ws: 80, wss: 443 };

export function parseMqtt3Metadata(props: Record<string, string>): Mqtt3Config {
  const m = parseMetadata(schema, props);
  return {
    broker: parseBrokerUrl(m.url),
    clientId: m.consumerID,
    qos: m.qos as 0 | 1 | 2,
    retain: m.retain,
    cleanSession: m.cleanSession,
    tls: { ca: m.caCert, cert: m.clientCert, key: m.clientKey },
    backOff: {
      policy: m.backOffPolicy,
      durationMs: m.backOffDuration,
      initialMs: m.backOffInitialInterval,
      maxMs: m.backOffMaxInterval,
      maxRetries: m.backOffMaxRetries,
    },
  };
}

/** "tcp://user:pass@host:1883" -> its parts; credentials may be percent-encoded. */
export function parseBrokerUrl(value: string): Broker {
  const bad = (why: string) => new ComponentConfigError(`metadata field "url": ${why}`, 'url');
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    throw bad('not a URL (want tcp://[user[:password]@]host[:port])');
  }
  const protocol = SCHEMES[u.protocol.replace(/:$/, '').toLowerCase()];
  if (!protocol) throw bad(`unsupported scheme "${u.protocol}" (tcp, mqtt, ssl, mqtts, tcps, tls, ws, wss)`);
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1');
  if (!host) throw bad('no host');
  return {
    protocol,
    host,
    port: u.port ? Number(u.port) : DEFAULT_PORTS[protocol],
    path: protocol === 'ws' || protocol === 'wss' ? u.pathname || '/' : undefined,
    username: u.username ? decodeURIComponent(u.username) : undefined,
    password: u.password ? decodeURIComponent(u.password) : undefined,
  };
}

/** The URL without its password, for error messages. */
export function describeBroker(b: Broker): string {
  return `${b.protocol}://${b.username ? `${b.username}@` : ''}${b.host.includes(':') ? `[${b.host}]` : b.host}:${b.port}`;
}
