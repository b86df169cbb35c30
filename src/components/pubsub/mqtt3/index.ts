// pubsub.mqtt3: MQTT 3.1.1, contrib's pubsub.mqtt3 (daprd registers it as "mqtt" too). One
// connection whose client id is consumerID, so different consumerIDs each get every message;
// instances sharing one would take the session from each other (no competing consumers; brokers
// that support it offer "$share/<group>/<topic>" subscriptions for that).
//
// Delivery: a message is acknowledged only once its handler resolved (acks.ts). A handler that
// rejects gets the message again in-process after the backOff* delay, unlimited by default, while
// the broker still holds it unacknowledged: if the process dies, the broker resends it when the
// persistent session (cleanSession=false, the default) resumes.
//
// Subscription.close() unsubscribes at the broker (unless the subscription's metadata says
// unsubscribeOnClose=false, contrib's default), so a dropped topic does not keep taking the
// broker's in-flight slots, which are shared by every topic of the session. close() only
// disconnects: a persistent session keeps its subscriptions and the broker keeps what is published
// meanwhile. What arrives with no matching subscription (that backlog comes right after
// connecting, before the app subscribes again) waits unacknowledged for the subscription that
// matches it.
import type { IPublishPacket, MqttClient } from 'mqtt';
import type { ComponentMetadata } from '../../types';
import { prop } from '../metadata';
import { PubSubFeature, type MessageHandler, type PublishRequest, type PubSub, type PubSubMessage, type SubscribeRequest, type Subscription } from '../types';
import { deferAcks, type Settle } from './acks';
import { retryDelay } from './backoff';
import { brokerWait, endClient, openClient } from './connect';
import { parseMqtt3Metadata, type Mqtt3Config } from './metadata';
import { topicMatches, unshared } from './topic-filter';

interface Sub {
  filter: string;
  /** The filter topics are matched against (without a $share prefix). */
  matches: string;
  handler: MessageHandler;
  open: boolean;
  unsubscribeOnClose: boolean;
}

interface Waiting {
  msg: PubSubMessage;
  settle: Settle;
}

interface Sleep {
  sub: Sub;
  timer: NodeJS.Timeout;
  done: () => void;
}

/** Messages without a subscription kept at most; beyond that the oldest is left to the broker. */
const MAX_PARKED = 1000;

export class Mqtt3PubSub implements PubSub {
  private cfg?: Mqtt3Config;
  private client?: MqttClient;
  private readonly subs = new Map<string, Sub>();
  private parked: Waiting[] = [];
  private readonly sleeps = new Set<Sleep>();
  private closed = false;
  /** Fires on close() so waits for the broker end at once. */
  private readonly closing = new AbortController();

  async init(md: ComponentMetadata): Promise<void> {
    const cfg = parseMqtt3Metadata(md.properties);
    this.cfg = cfg;
    await openClient(cfg, (client) => {
      this.client = client;
      deferAcks(client, (packet, settle) => this.dispatch(toMessage(packet), settle));
    });
  }

  features(): readonly string[] {
    return [PubSubFeature.SUBSCRIBE_WILDCARDS];
  }

  /** Connection state: the client's keepalive PINGREQs already watch the link. */
  async ping(): Promise<void> {
    const { client, cfg } = this.ready();
    if (!client.connected) throw new Error(`mqtt3: not connected to ${cfg.broker.host}:${cfg.broker.port} (reconnecting)`);
  }

  async publish(req: PublishRequest): Promise<void> {
    const { client, cfg } = this.ready();
    if (!req.topic) throw new Error('mqtt3: topic name is empty');
    const retain = parseBool(prop(req.metadata, 'retain'), cfg.retain, 'retain');
    await brokerWait(client.publishAsync(req.topic, req.data, { qos: cfg.qos, retain }), `publishing to "${req.topic}"`, this.closing.signal, { client });
  }

  async subscribe(req: SubscribeRequest, handler: MessageHandler): Promise<Subscription> {
    const { client, cfg } = this.ready();
    const filter = req.topic;
    if (!filter) throw new Error('mqtt3: topic name is empty');
    if (this.subs.has(filter)) throw new Error(`mqtt3: already subscribed to "${filter}"`);
    const unsubscribeOnClose = parseBool(prop(req.metadata, 'unsubscribeOnClose'), true, 'unsubscribeOnClose');
    const sub: Sub = { filter, matches: unshared(filter), handler, open: true, unsubscribeOnClose };
    this.subs.set(filter, sub);
    try {
      const granted = await brokerWait(client.subscribeAsync(filter, { qos: cfg.qos }), `subscribing to "${filter}"`, this.closing.signal);
      if (granted.some((g) => g.qos === 128)) throw new Error(`mqtt3: the broker refused the subscription to "${filter}"`);
    } catch (e) {
      sub.open = false;
      this.subs.delete(filter);
      throw e;
    }
    this.unpark();
    return { close: () => this.unsubscribe(sub) };
  }

  async close(): Promise<void> {
    this.closed = true;
    this.closing.abort();
    for (const s of this.subs.values()) s.open = false;
    this.subs.clear();
    this.wake();
    for (const p of this.parked) p.settle.abandon();
    this.parked = [];
    const client = this.client;
    this.client = undefined;
    if (client) await endClient(client);
  }

  private ready(): { client: MqttClient; cfg: Mqtt3Config } {
    if (this.closed || !this.client || !this.cfg) throw new Error('mqtt3: the component is not initialized or already closed');
    return { client: this.client, cfg: this.cfg };
  }

  private async unsubscribe(sub: Sub): Promise<void> {
    if (!sub.open) return;
    sub.open = false;
    this.subs.delete(sub.filter);
    this.wake(sub);
    const client = this.client;
    // A clean session ends with the connection anyway, so only a persistent one can keep it.
    if (!client || this.closed || (!sub.unsubscribeOnClose && !this.cfg!.cleanSession)) return;
    const done = brokerWait(client.unsubscribeAsync(sub.filter), `unsubscribing from "${sub.filter}"`, this.closing.signal).then(
      () => undefined,
      () => undefined,
    );
    // Offline, mqtt.js sends the UNSUBSCRIBE after reconnecting; no point waiting for that.
    if (client.connected) await done;
  }

  /** Hands a message to the subscription its topic matches, or keeps it until one appears. */
  private dispatch(msg: PubSubMessage, settle: Settle): void {
    if (this.closed) return settle.abandon();
    const sub = this.route(msg.topic);
    if (sub) {
      void this.deliver(sub, msg, settle);
      return;
    }
    this.parked.push({ msg, settle });
    if (this.parked.length > MAX_PARKED) this.parked.shift()!.settle.abandon();
  }

  /** An exact filter first, else the first wildcard one that matches (contrib's order). */
  private route(topic: string): Sub | undefined {
    let wildcard: Sub | undefined;
    for (const s of this.subs.values()) {
      if (s.matches === topic) return s;
      if (!wildcard && topicMatches(s.matches, topic)) wildcard = s;
    }
    return wildcard;
  }

  private unpark(): void {
    const parked = this.parked;
    this.parked = [];
    for (const p of parked) this.dispatch(p.msg, p.settle);
  }

  /** Runs the handler until it resolves (then acks), the retries run out, or the subscription goes. */
  private async deliver(sub: Sub, msg: PubSubMessage, settle: Settle): Promise<void> {
    for (let retry = 1; ; retry++) {
      try {
        await sub.handler(msg);
        settle.ack();
        return;
      } catch {
        // Redelivered below.
      }
      const delay = retryDelay(this.cfg!.backOff, retry);
      if (delay === undefined) return settle.abandon();
      if (sub.open) await this.sleep(sub, delay);
      if (!sub.open) return this.dispatch(msg, settle);
    }
  }

  private sleep(sub: Sub, ms: number): Promise<void> {
    return new Promise((resolve) => {
      const s: Sleep = {
        sub,
        timer: setTimeout(() => s.done(), ms),
        done: () => {
          clearTimeout(s.timer);
          this.sleeps.delete(s);
          resolve();
        },
      };
      this.sleeps.add(s);
    });
  }

  /** Ends the retry waits of one subscription, or of all. */
  private wake(sub?: Sub): void {
    for (const s of [...this.sleeps]) if (!sub || s.sub === sub) s.done();
  }
}

function toMessage(packet: IPublishPacket): PubSubMessage {
  const data = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
  return { topic: packet.topic, data, metadata: { retained: String(packet.retain) } };
}

/** Go's strconv.ParseBool, as contrib reads request metadata. */
function parseBool(value: string | undefined, fallback: boolean, name: string): boolean {
  if (value === undefined || value === '') return fallback;
  if (['1', 't', 'T', 'true', 'TRUE', 'True'].includes(value)) return true;
  if (['0', 'f', 'F', 'false', 'FALSE', 'False'].includes(value)) return false;
  throw new Error(`mqtt3: invalid ${name} "${value}" in the request metadata`);
}
