// Which JetStream stream stores a topic. Contrib expects the streams to exist (users create them
// with `nats stream add`) and so does this component, with one convenience a user would expect
// from `streamName`: when that stream is absent this component creates it, and it keeps adding
// the topics it publishes or subscribes to as subjects of a stream it created (marked by its
// description). A stream someone else made is never altered: a topic it does not cover, or no
// stream at all without streamName, fails with an error that says what to create.
import { JetStreamApiCodes, JetStreamApiError, type JetStreamManager } from '@nats-io/jetstream';

/** Marks the streams this component created and may therefore extend. */
export const OWNED_STREAM_DESCRIPTION = 'created by pubsub.jetstream; subjects are added as topics are used';

// Another process may rewrite the subjects of a shared created stream at the same time (streams
// have no compare-and-set): each attempt re-reads and re-checks until the topic stays covered.
const ATTEMPTS = 5;

export const noStreamError = (topic: string) =>
  new Error(`pubsub.jetstream: no JetStream stream stores subject "${topic}": create one (nats stream add) or set streamName to have the component create it`);

const notFound = (e: unknown) => e instanceof JetStreamApiError && e.code === JetStreamApiCodes.StreamNotFound;

export class StreamLocator {
  private readonly byTopic = new Map<string, Promise<string>>();
  /** Serializes this instance's stream changes so two topics never overwrite each other's subject. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly jsm: JetStreamManager,
    private readonly streamName: string | undefined,
  ) {}

  /** The name of the stream storing `topic`, remembered once found. */
  streamFor(topic: string): Promise<string> {
    let found = this.byTopic.get(topic);
    if (!found) {
      const p = this.queue.then(() => this.locate(topic));
      this.queue = p.catch(() => undefined);
      found = p;
      this.byTopic.set(topic, found);
      found.catch(() => this.byTopic.delete(topic));
    }
    return found;
  }

  /** Drops what was remembered (a publish found nothing storing the topic any more). */
  forget(topic: string): void {
    this.byTopic.delete(topic);
  }

  private async locate(topic: string): Promise<string> {
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      const found = await this.jsm.streams.find(topic).catch((e: unknown) => {
        if (notFound(e)) return undefined;
        throw e;
      });
      if (found) {
        if (this.streamName && found !== this.streamName) {
          throw new Error(`pubsub.jetstream: subject "${topic}" is stored by stream "${found}", not by streamName "${this.streamName}"`);
        }
        return found;
      }
      if (!this.streamName) {
        throw noStreamError(topic);
      }
      await this.provision(this.streamName, topic);
    }
    throw new Error(`pubsub.jetstream: subject "${topic}" could not be added to stream "${this.streamName}" (it kept being changed concurrently)`);
  }

  /** Creates the stream with the topic, or adds the topic to a stream this component created. */
  private async provision(name: string, topic: string): Promise<void> {
    const info = await this.jsm.streams.info(name).catch((e: unknown) => {
      if (notFound(e)) return undefined;
      throw e;
    });
    if (!info) {
      // Losing a creation race to another instance is fine: the next attempt extends its stream.
      await this.jsm.streams.add({ name, subjects: [topic], description: OWNED_STREAM_DESCRIPTION }).catch((e: unknown) => {
        if (!(e instanceof JetStreamApiError && /already in use/.test(e.message))) throw describe(e, name, topic);
      });
      return;
    }
    if (info.config.description !== OWNED_STREAM_DESCRIPTION) {
      throw new Error(
        `pubsub.jetstream: stream "${name}" does not store subject "${topic}" and was not created by this component; add the subject to it (nats stream edit) or use another streamName`,
      );
    }
    const subjects = [...new Set([...(info.config.subjects ?? []), topic])];
    await this.jsm.streams.update(name, { subjects }).catch((e: unknown) => {
      throw describe(e, name, topic);
    });
  }
}

const describe = (e: unknown, name: string, topic: string) =>
  new Error(`pubsub.jetstream: cannot store subject "${topic}" in stream "${name}": ${(e as Error).message}`);
