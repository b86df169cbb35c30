// Input bindings (daprd's StartReadingFromBindings / sendBindingEventToApp), written once whatever
// the app's protocol: once the app is up, every binding that can read, whose `direction` allows
// input, and that the app listens to (asked through the app channel unless `direction` names input)
// starts reading. Each event goes to the app under the binding's inbound resiliency policies; the
// component acknowledges it when the app took it and redelivers it otherwise. The app's answer may
// save states (with the app's key prefix, through StateCore) and send its `data` to output
// bindings with operation create (through BindingsCore), in order or in parallel.
import type { Logger } from 'pino';
import type { AppBindingReply, AppChannel } from '../app-channel/types';
import { bindingDirection } from '../components/bindings/direction';
import { isInputBinding, type BindingReader, type BindingReadEvent } from '../components/bindings/types';
import type { LiveComponent } from '../components/store';
import { errMessage } from '../errors/runtime-error';
import type { BindingsCore } from './bindings';
import type { CoreContext } from './context';
import { NO_RESILIENCY, type Resiliency } from './resiliency/types';
import type { StateCore } from './state';
import { tracing, withCallbackSpan } from './trace';

export class InputBindingsCore {
  private readonly readers = new Map<string, BindingReader>();
  private channel?: AppChannel;
  private closed = false;

  constructor(
    private readonly ctx: CoreContext,
    private readonly deps: { state: StateCore; bindings: BindingsCore },
    private readonly log: Logger,
    private readonly resiliency: Resiliency = NO_RESILIENCY,
  ) {}

  /** Names of the bindings reading now (for the metadata API and tests). */
  reading(): string[] {
    return [...this.readers.keys()];
  }

  /** Starts reading every input binding the app listens to; one that fails to start is logged and left. */
  async startApp(channel: AppChannel): Promise<void> {
    this.channel = channel;
    for (const live of this.ctx.components.list('bindings')) {
      if (this.closed) return;
      if (!isInputBinding(live.instance) || this.readers.has(live.name)) continue;
      const direction = bindingDirection(live.meta.properties);
      if (!direction.input) continue;
      const route = live.meta.properties.route || live.name;
      let listens = direction.explicitInput;
      if (!listens) {
        try {
          listens = await channel.listensToBinding(live.name, route);
        } catch (e) {
          this.log.warn(`could not invoke OPTIONS method on input binding subscription endpoint "${route}": ${errMessage(e)}`);
          continue;
        }
      }
      if (!listens) {
        this.log.info(`app has not subscribed to binding ${live.name}.`);
        continue;
      }
      await this.start(live as LiveComponent<'bindings'>, route, channel);
    }
  }

  /**
   * Hot reload: bindings replaced or removed stop reading from their old instances, then every
   * binding the app listens to and that is not reading yet starts (the new instances included).
   */
  async reload(names: Iterable<string>): Promise<void> {
    for (const name of names) {
      const reader = this.readers.get(name);
      this.readers.delete(name);
      await reader?.close().catch((e: unknown) => this.log.warn(`error stopping input binding ${name}: ${errMessage(e)}`));
    }
    if (this.channel && !this.closed) await this.startApp(this.channel);
  }

  /** Stops reading (events not yet acknowledged stay with their systems); components close later. */
  async close(): Promise<void> {
    this.closed = true;
    const readers = [...this.readers.entries()];
    this.readers.clear();
    await Promise.all(
      readers.map(([name, r]) => r.close().catch((e: unknown) => this.log.warn(`error stopping input binding ${name}: ${errMessage(e)}`))),
    );
  }

  private async start(live: LiveComponent<'bindings'>, route: string, channel: AppChannel): Promise<void> {
    const { name, instance } = live;
    if (!isInputBinding(instance)) return;
    try {
      const reader = await instance.read((ev) => this.deliver(channel, name, route, ev));
      if (this.closed) return void (await reader.close());
      this.readers.set(name, reader);
      this.log.info(`started reading from input binding ${name}`);
    } catch (e) {
      this.log.error(`error reading from input binding ${name}: ${errMessage(e)}`);
    }
  }

  /** One event to the app; resolves with the app's answer body (the ack), rejects for redelivery. */
  private async deliver(channel: AppChannel, name: string, route: string, ev: BindingReadEvent): Promise<Buffer | undefined> {
    if (this.closed) throw new Error('input binding is closed');
    let reply: AppBindingReply;
    try {
      reply = await this.traced(name, route, ev.metadata, (metadata) => this.resiliency.componentInbound(name, () => channel.deliverBindingEvent({ name, route, data: ev.data, metadata }), 'bindings'));
    } catch (e) {
      this.log.debug(`error from app consumer for binding [${name}]: ${errMessage(e)}`);
      throw e;
    }
    await this.onReply(name, reply);
    return reply.body;
  }

  /**
   * daprd's callback span `bindings/<name>`, child of the trace context in the event's metadata;
   * the app gets the span's context in place of it. Tracing off: the metadata goes as it came.
   */
  private traced<T>(name: string, route: string, metadata: Record<string, string>, send: (metadata: Record<string, string>) => Promise<T>): Promise<T> {
    if (!tracing()) return send(metadata);
    const parent = metadata.traceparent ? { traceparent: metadata.traceparent, tracestate: metadata.tracestate } : undefined;
    const attributes = { 'db.name': name, 'db.system': 'bindings', 'db.connection_string': route, 'rpc.service': 'Dapr' };
    return withCallbackSpan(`bindings/${name}`, attributes, parent, ({ traceparent, tracestate }) => {
      const { tracestate: _old, ...rest } = metadata;
      return send(tracestate ? { ...rest, traceparent, tracestate } : { ...rest, traceparent });
    });
  }

  /** What the app asked for in its answer; failures are logged, the event stays acknowledged (daprd). */
  private async onReply(name: string, reply: AppBindingReply): Promise<void> {
    const work: Promise<void>[] = [];
    if (reply.states.length > 0) {
      work.push(this.deps.state.save(reply.storeName, reply.states).catch((e: unknown) => this.log.error(`error saving state from app response: ${errMessage(e)}`)));
    }
    if (reply.to.length > 0) {
      const send = (to: string) => this.deps.bindings.invoke({ name: to, operation: 'create', data: reply.data, metadata: {} });
      const fail = (e: unknown) => this.log.error(`error executing app response of binding ${name}: ${errMessage(e)}`);
      if (reply.concurrency === 'parallel') {
        work.push(...reply.to.map((to) => send(to).then(() => undefined, fail)));
      } else {
        work.push(
          (async () => {
            for (const to of reply.to) await send(to);
          })().catch(fail),
        );
      }
    }
    await Promise.all(work);
  }
}
