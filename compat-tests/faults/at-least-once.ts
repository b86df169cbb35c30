// The at-least-once run both broker suites share (RabbitMQ, NATS JetStream): N events published
// through a publisher sidecar's Dapr HTTP API by concurrent publishers, each event's id as its
// text body, to a subscriber (a RecordingApp behind its own sidecar) on the same pub/sub component.
// While they flow, two faults strike, each once publishing passed a mark:
// - the broker restarts (the suite's restartBroker());
// - the subscriber crashes: its sidecar is SIGKILLed and its app's port closes mid-stream, then
//   both start again (same app id, so the same consumer group/queue).
// A publish the sidecar refused (an error answer: not acknowledged) is retried by its publisher,
// as an app would. In the end every acknowledged id must have reached the app at least once.
import { sleep, until } from '../../test/wait';
import { type Sidecar, startSidecar, waitHealthy } from '../helpers/sidecar';
import { RecordingApp } from './recording-app';

export interface AtLeastOnceOptions {
  /** Names the run in its report line. */
  label: string;
  n: number;
  /** Component manifests, the same for both sidecars (file name -> YAML). */
  resources: Record<string, string>;
  pubsub: string;
  topic: string;
  appId: string;
  /** Stops the broker and starts it again; resolves once it accepts connections. */
  restartBroker: () => Promise<void>;
  /** Publishing mark (share of N acknowledged) for each fault. */
  restartAt?: number;
  crashAt?: number;
  /** How long every acknowledged event may take to arrive once publishing is done. */
  drainMs?: number;
}

export interface AtLeastOnceCounts {
  published: number;
  acknowledged: number;
  received: number;
  duplicates: number;
  lost: string[];
  failedPublishes: Map<string, number>;
  line: string;
}

const PUBLISHERS = 32;
const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const route = 'events';

export async function runAtLeastOnce(o: AtLeastOnceOptions): Promise<AtLeastOnceCounts> {
  const app = new RecordingApp([{ pubsubname: o.pubsub, topic: o.topic, route }]);
  await app.start();
  const sidecars = new Set<Sidecar>();
  const start = async (appId: string, args: string[] = []): Promise<Sidecar> => {
    for (let attempt = 1; ; attempt++) {
      const sc = await startSidecar({ appId, resources: o.resources, args, wait: false });
      sidecars.add(sc);
      try {
        // A subscriber restarting into a backlog on a busy machine: more than the usual 20 s.
        await waitHealthy(sc, 90_000);
        return sc;
      } catch (e) {
        sidecars.delete(sc);
        // Free ports are picked before the sidecar binds them: another process may take one first.
        if (attempt < 3 && /EADDRINUSE/.test(sc.output())) continue;
        throw e;
      }
    }
  };
  try {
    // The subscriber first: its queue/consumer must exist before anything is published.
    let subscriber = await start(o.appId, ['--app-port', String(app.port)]);
    const publisher = await start(`${o.appId}-pub`);
    const url = `http://127.0.0.1:${publisher.httpPort}/v1.0/publish/${o.pubsub}/${o.topic}`;

    const acked = new Set<string>();
    const failedPublishes = new Map<string, number>();
    let attempts = 0;
    let next = 0;
    const publishOne = async (id: string): Promise<void> => {
      for (;;) {
        attempts++;
        try {
          const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: id, signal: AbortSignal.timeout(60_000) });
          if (r.status === 204) return void acked.add(id);
          const body = (await r.json()) as { errorCode?: string; message?: string };
          const why = `${r.status} ${body.errorCode}: ${(body.message ?? '').replace(/\d+/g, 'N')}`;
          failedPublishes.set(why, (failedPublishes.get(why) ?? 0) + 1);
        } catch (e) {
          const why = `no answer: ${(e as Error).message}`;
          failedPublishes.set(why, (failedPublishes.get(why) ?? 0) + 1);
        }
        await sleep(200);
      }
    };
    const publishers = Array.from({ length: PUBLISHERS }, async () => {
      while (next < o.n) await publishOne(`ev-${next++}`);
    });

    const notes: string[] = [];
    const mark = (share: number) => until(() => acked.size >= o.n * share, () => `${acked.size} of ${o.n} acknowledged`, 120_000);
    const faults = (async () => {
      await mark(o.restartAt ?? 0.3);
      notes.push(`broker restart at ${acked.size} acknowledged, ${app.unique(route).size} received`);
      await o.restartBroker();
      await mark(o.crashAt ?? 0.6);
      notes.push(`subscriber crash at ${acked.size} acknowledged, ${app.unique(route).size} received`);
      await subscriber.stop('SIGKILL');
      sidecars.delete(subscriber);
      await app.crash();
      await sleep(500);
      await app.start();
      subscriber = await start(o.appId, ['--app-port', String(app.port)]);
      notes.push(`subscriber back at ${acked.size} acknowledged, ${app.unique(route).size} received`);
    })();
    const started = Date.now();
    const progress = setInterval(() => process.stdout.write(`  ${o.label} +${Math.round((Date.now() - started) / 1000)}s: acknowledged ${acked.size}, received ${app.unique(route).size}\n`), 5000);
    try {
      await Promise.all([...publishers, faults]);
    } finally {
      clearInterval(progress);
    }

    const published = Date.now();
    // The app runs in this process: the check must stay cheap, or it starves the deliveries it waits for.
    const missing = () => [...acked].filter((id) => !app.unique(route).has(id)).length;
    await until(() => missing() === 0, () => `${missing()} acknowledged events not received`, o.drainMs ?? 60_000).catch(() => undefined);
    const all = app.got(route);
    const unique = app.unique(route);
    const lost = [...acked].filter((id) => !unique.has(id));
    const line =
      `${o.label}: published ${attempts}, acknowledged ${acked.size}, received ${unique.size} unique, duplicates ${all.length - unique.size}, lost ${lost.length}` +
      ` (${notes.join('; ')}; publishing took ${secs(published - started)}, the rest arrived ${secs(Date.now() - published)} later)`;
    const failed = [...failedPublishes].map(([why, k]) => `  publish refused ${k} x ${why}`);
    const strays = all.filter((b) => !/^ev-\d+$/.test(b));
    const details = [
      ...(lost.length ? [`  lost (first 30): ${lost.sort((a, b) => Number(a.slice(3)) - Number(b.slice(3))).slice(0, 30).join(' ')}`] : []),
      ...(strays.length ? [`  ${strays.length} bodies that are no event id, e.g. ${strays[0]!.slice(0, 200)}`] : []),
    ];
    if (lost.length) {
      const complaints = [...sidecars].flatMap((sc) => sc.output().split('\n').filter((l) => /level=(warn|error)/.test(l)));
      details.push(`  ${complaints.length} warnings/errors in the sidecars' logs, e.g.:`, ...complaints.slice(0, 5).map((l) => `    ${l.slice(0, 300)}`));
    }
    process.stdout.write([line, ...failed, ...details].join('\n') + '\n');
    return { published: attempts, acknowledged: acked.size, received: unique.size, duplicates: all.length - unique.size, lost, failedPublishes, line };
  } finally {
    for (const sc of sidecars) await sc.stop();
    await app.stop();
  }
}
