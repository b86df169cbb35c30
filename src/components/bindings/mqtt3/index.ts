// bindings.mqtt3 (contrib's bindings/mqtt3; daprd also registers it as bindings.mqtt). Nothing
// connects at init, as in contrib: `create` opens a "<consumerID>-producer" client on first use and
// publishes at QoS 1 to the request's `topic` metadata or the component's topic; reading opens a
// "<consumerID>-consumer" client subscribed to the topic. A message is acknowledged only once the
// app took it; a refusal is retried every 5 s up to backOffMaxRetries, after which the message stays
// unacknowledged with the broker (resent when a persistent session resumes).
import type { IPublishPacket, MqttClient } from 'mqtt';
import { deferAcks, type Settle } from '../../pubsub/mqtt3/acks';
import { retryDelay } from '../../pubsub/mqtt3/backoff';
import { BROKER_WAIT_MS, brokerWait, endClient, openClient } from '../../pubsub/mqtt3/connect';
import { prop } from '../../pubsub/metadata';
import type { Component, ComponentMetadata } from '../../types';
import { BindingOperation, type BindingInvokeRequest, type BindingInvokeResponse, type BindingReader, type BindingReadHandler, type InputBinding, type OutputBinding } from '../types';
import { parseMqtt3BindingMetadata, type Mqtt3BindingConfig } from './metadata';

/** contrib retries a publish 3 times, 200 ms apart (paho's reconnect races). */
const PUBLISH_RETRIES = 3;
const PUBLISH_RETRY_MS = 200;

export class Mqtt3Binding implements Component, OutputBinding, InputBinding {
  private cfg?: Mqtt3BindingConfig;
  private producer?: Promise<MqttClient>;
  private consumer?: MqttClient;
  private closed = false;
  /** Fires on close() (or when reading stops) so waits for the broker end at once. */
  private readonly closing = new AbortController();
  private reading?: AbortController;

  async init(md: ComponentMetadata): Promise<void> {
    this.cfg = parseMqtt3BindingMetadata(md.properties);
  }

  features(): readonly string[] {
    return [];
  }

  operations(): readonly string[] {
    return [BindingOperation.CREATE];
  }

  async invoke(req: BindingInvokeRequest): Promise<BindingInvokeResponse | undefined> {
    const cfg = this.ready();
    const topic = prop(req.metadata, 'topic') || cfg.topic;
    let client: MqttClient;
    try {
      client = await this.producerClient();
    } catch (e) {
      throw new Error(`mqtt3 binding: failed to create producer connection: ${(e as Error).message}`);
    }
    let last: Error | undefined;
    // The retries are for quick failures: all of them together wait no longer than one broker wait.
    const deadline = Date.now() + BROKER_WAIT_MS;
    for (let attempt = 0; attempt <= PUBLISH_RETRIES; attempt++) {
      if (attempt > 0) {
        if (Date.now() + PUBLISH_RETRY_MS >= deadline) break;
        await new Promise((r) => setTimeout(r, PUBLISH_RETRY_MS));
      }
      try {
        const sent = client.publishAsync(topic, req.data, { qos: 1, retain: cfg.connection.retain });
        await brokerWait(sent, `publishing to "${topic}"`, this.closing.signal, { client, ms: deadline - Date.now() });
        return undefined; // nothing to answer: daprd replies 204
      } catch (e) {
        last = e as Error;
        if (this.closed) break;
      }
    }
    throw new Error(`mqtt3 binding: failed to publish: ${last?.message ?? 'unknown error'}`);
  }

  async read(handler: BindingReadHandler): Promise<BindingReader> {
    const cfg = this.ready();
    if (this.reading) throw new Error('mqtt3 binding: the subscription is already active');
    const reading = (this.reading = new AbortController());
    const connection = { ...cfg.connection, clientId: `${cfg.connection.clientId}-consumer` };
    let client: MqttClient;
    try {
      client = await openClient(connection, (c) => {
        this.consumer = c;
        deferAcks(c, (packet, settle) => void this.deliver(packet, settle, handler, reading.signal));
      });
      // mqtt.js subscribes again by itself when a reconnect finds no session.
      const granted = await brokerWait(client.subscribeAsync(cfg.topic, { qos: 1 }), `subscribing to "${cfg.topic}"`, this.closing.signal);
      if (granted.some((g) => g.qos === 128)) throw new Error(`mqtt3 binding: the broker refused the subscription to "${cfg.topic}"`);
    } catch (e) {
      await this.stopReading(reading);
      throw e;
    }
    return { close: () => this.stopReading(reading) };
  }

  async close(): Promise<void> {
    this.closed = true;
    this.closing.abort();
    if (this.reading) await this.stopReading(this.reading);
    const producer = this.producer;
    this.producer = undefined;
    if (producer) await producer.then(endClient, () => undefined);
  }

  /** Disconnects the consumer without unsubscribing: a persistent session keeps what comes meanwhile. */
  private async stopReading(reading: AbortController): Promise<void> {
    if (this.reading !== reading) return;
    this.reading = undefined;
    reading.abort();
    const client = this.consumer;
    this.consumer = undefined;
    if (client) await endClient(client);
  }

  private async deliver(packet: IPublishPacket, settle: Settle, handler: BindingReadHandler, stopped: AbortSignal): Promise<void> {
    const data = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
    const ev = { data, metadata: { topic: packet.topic } };
    for (let retry = 1; !stopped.aborted; retry++) {
      try {
        await handler(ev);
        return settle.ack();
      } catch {
        // Retried below.
      }
      const delay = retryDelay(this.cfg!.connection.backOff, retry);
      if (delay === undefined) break;
      await sleep(delay, stopped);
    }
    settle.abandon();
  }

  private producerClient(): Promise<MqttClient> {
    if (this.producer) return this.producer;
    const cfg = this.ready();
    const connection = { ...cfg.connection, clientId: `${cfg.connection.clientId}-producer` };
    const open = openClient(connection, () => undefined);
    this.producer = open;
    open.catch(() => {
      if (this.producer === open) this.producer = undefined;
    });
    return open;
  }

  private ready(): Mqtt3BindingConfig {
    if (this.closed || !this.cfg) throw new Error('mqtt3 binding: not initialized or already closed');
    return this.cfg;
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
  });
}
