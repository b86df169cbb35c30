// The system under fuzz: one built sidecar with an in-memory (or file-backed, in temp dirs) component
// of every kind, and a plain HTTP app behind it so invocation, bindings.http and pub/sub delivery go
// all the way to an app. A canary file sits next to (outside) the file roots: path tricks must never
// reach it. Shared by the HTTP and gRPC fuzz suites.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PlainApp } from '../helpers/invoke';
import { componentYaml, type Sidecar, startSidecar, waitHealthy } from '../helpers/sidecar';

export const APP_ID = 'fuzz-app';
export const TOPIC = 'fuzz';
/** Small enough that "huge" bodies stay cheap on 2 busy cores. */
export const MAX_BODY = 256 * 1024;

/** Component names the generators favour, so requests reach the components and not only the not-found paths. */
export const NAMES = {
  state: 'statestore',
  pubsub: 'pubsub',
  config: 'configstore',
  lock: 'lockstore',
  sequencer: 'sequencer',
  secrets: 'secretstore',
  localstorage: 'localfs',
  httpBinding: 'httpbin',
  file: 'files',
  hello: 'helloworld',
} as const;

export const SECRETS = { db: 'pw', nested: { k: 'v' } };

export interface FuzzEnv {
  sc: Sidecar;
  app: PlainApp;
  base: string;
  /** Fails when the sidecar is gone, unhealthy, or a file outside the roots was touched. */
  assertHealthy: () => Promise<void>;
  stop: () => Promise<void>;
}

const CANARY = 'do not touch';

export async function startFuzzEnv(): Promise<FuzzEnv> {
  const base = mkdtempSync(join(tmpdir(), 'layotto-ts-fuzz-'));
  const roots = { localstorage: join(base, 'roots', 'localstorage'), file: join(base, 'roots', 'files') };
  for (const d of Object.values(roots)) mkdirSync(d, { recursive: true });
  const canary = join(base, 'canary.txt');
  writeFileSync(canary, CANARY);
  const secretsFile = join(base, 'secrets.json');
  writeFileSync(secretsFile, JSON.stringify(SECRETS));

  // The app answers everything 200 with a JSON echo; a declarative subscription sends it one topic.
  const app = await new PlainApp().start();

  const resources = {
    'state.yaml': componentYaml(NAMES.state, 'state.in-memory'),
    'pubsub.yaml': componentYaml(NAMES.pubsub, 'pubsub.in-memory'),
    'config.yaml': componentYaml(NAMES.config, 'configuration.in-memory'),
    'lock.yaml': componentYaml(NAMES.lock, 'lock.in-memory'),
    'sequencer.yaml': componentYaml(NAMES.sequencer, 'sequencer.in-memory'),
    'secrets.yaml': componentYaml(NAMES.secrets, 'secretstores.local.file', { secretsFile }),
    'localfs.yaml': componentYaml(NAMES.localstorage, 'bindings.localstorage', { rootPath: roots.localstorage }),
    'httpbin.yaml': componentYaml(NAMES.httpBinding, 'bindings.http', { url: app.url }),
    'files.yaml': componentYaml(NAMES.file, 'file.local', { rootPath: roots.file }),
    'hello.yaml': componentYaml(NAMES.hello, 'hello.helloworld', { hello: 'greeting' }),
    'subscription.yaml': `apiVersion: dapr.io/v2alpha1\nkind: Subscription\nmetadata:\n  name: fuzz\nspec:\n  pubsubname: ${NAMES.pubsub}\n  topic: ${TOPIC}\n  routes:\n    default: /events\n`,
  };
  const sc = await startSidecar({
    appId: APP_ID,
    resources,
    wait: false,
    args: ['--app-port', String(app.port), '--max-body-size', String(MAX_BODY), '--log-level', process.env.FUZZ_LOG_LEVEL ?? 'error'],
  });

  // A busy shared machine can take a while to start node: wait longer than the default.
  await waitHealthy(sc, 60000);

  const assertHealthy = async (): Promise<void> => {
    if (sc.proc.exitCode !== null || sc.proc.signalCode !== null) throw new Error(`the sidecar exited (${sc.proc.exitCode ?? sc.proc.signalCode}):\n${sc.output().slice(-4000)}`);
    await waitHealthy(sc, 10000);
    if (!existsSync(canary) || readFileSync(canary, 'utf8') !== CANARY) throw new Error(`the canary ${canary} outside the file roots was changed`);
  };

  return {
    sc,
    app,
    base,
    assertHealthy,
    stop: async () => {
      await sc.stop();
      await app.stop();
    },
  };
}

/** Runs per property: FUZZ_RUNS scales every suite (1 = the bounded default). */
export const runs = (n: number): number => Math.max(1, Math.round(n * Number(process.env.FUZZ_RUNS ?? '1')));

/** A stack frame or a source path in an answer is a leak, whatever the status. */
export const STACK_TRACE = /\n\s+at .+:\d+:\d+|node_modules\/|\/src\/[\w/.-]+\.ts|\/dist\/[\w/.-]+\.js/;

/** No generated text may point a URL target (invoke app id, header) anywhere but loopback. */
export const NO_URL = (s: string): boolean => !/https?:/i.test(s);
