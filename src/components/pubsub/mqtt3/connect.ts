// Opens the component's one MQTT 3.1.1 connection (client id = consumerID, like contrib). The first
// connect must work, so a broker that is down or refuses us fails init with its reason; after that
// mqtt.js reconnects every second and, when the broker lost the session, subscribes again.
import { connect, type MqttClient } from 'mqtt';
import { describeBroker, type Mqtt3Config } from './metadata';

/** Bounds the CONNACK wait, and the component's waits for SUBACK/PUBACK/UNSUBACK (contrib's defaultWait). */
export const BROKER_WAIT_MS = 20000;
const RECONNECT_MS = 1000;

/**
 * Connects; `prepare` runs on the client before any packet can arrive (hooks, and so close()
 * can end a connect still in progress). Rejects, with the client ended, if the first attempt fails.
 */
export async function openClient(cfg: Mqtt3Config, prepare: (client: MqttClient) => void): Promise<MqttClient> {
  const { broker, tls } = cfg;
  const client = connect({
    protocol: broker.protocol,
    host: broker.host,
    port: broker.port,
    path: broker.path,
    username: broker.username,
    password: broker.password,
    clientId: cfg.clientId,
    clean: cfg.cleanSession,
    protocolVersion: 4,
    reconnectPeriod: RECONNECT_MS,
    connectTimeout: BROKER_WAIT_MS,
    ca: tls.ca,
    cert: tls.cert,
    key: tls.key,
  });
  let lastError: Error | undefined;
  // mqtt.js emits 'error' on failed (re)connects; without a listener Node would crash.
  client.on('error', (e: Error) => {
    lastError = e;
  });
  prepare(client);
  try {
    await new Promise<void>((resolve, reject) => {
      const fail = () => reject(lastError ?? new Error('connection closed'));
      client.once('connect', () => {
        client.off('close', fail).off('end', fail);
        resolve();
      });
      client.once('close', fail).once('end', fail);
    });
  } catch (e) {
    client.end(true);
    throw new Error(`mqtt3: error connecting to ${describeBroker(broker)} as "${cfg.clientId}": ${(e as Error).message}`);
  }
  return client;
}

/** Disconnects politely (the broker keeps a persistent session); a dead link is just dropped. */
export async function endClient(client: MqttClient): Promise<void> {
  if (!client.connected) {
    client.end(true);
    return;
  }
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([client.endAsync(false), new Promise<void>((r) => (timer = setTimeout(r, 2000)))]);
  clearTimeout(timer);
  if (!client.disconnected) client.end(true);
}

/** `p`, or a rejection naming `what` if the broker has not answered within BROKER_WAIT_MS (or `opts.ms`) or `closing` fires. */
export function brokerWait<T>(p: Promise<T>, what: string, closing: AbortSignal, opts: { client?: MqttClient; ms?: number } = {}): Promise<T> {
  const ms = opts.ms ?? BROKER_WAIT_MS;
  let timer: NodeJS.Timeout | undefined;
  let onAbort = () => undefined as void;
  const cut = new Promise<never>((_, reject) => {
    // Offline, mqtt.js keeps the packet for the reconnect: say so, it is why nothing answered.
    const offline = () => (opts.client && !opts.client.connected ? ' (not connected: reconnecting)' : '');
    timer = setTimeout(() => reject(new Error(`mqtt3: no answer from the broker within ${Math.round(ms / 100) / 10}s ${what}${offline()}`)), ms);
    onAbort = () => reject(new Error(`mqtt3: the component closed while ${what}`));
    if (closing.aborted) onAbort();
    closing.addEventListener('abort', onAbort, { once: true });
  });
  return Promise.race([p, cut]).finally(() => {
    clearTimeout(timer);
    closing.removeEventListener('abort', onAbort);
  });
}
