// The only file that imports every implementation: one registration line each (cmd/daprd/components).
import { helloRegistry } from './hello/registry';
import { HelloWorld } from './hello/helloworld';
import { stateRegistry } from './state/registry';
import { InMemoryStateStore } from './state/in-memory';
import { RedisStateStore } from './state/redis';
import { PostgresStateStore } from './state/postgresql';
import { MongoStateStore } from './state/mongodb';
import { secretStoreRegistry } from './secretstores/registry';
import { LocalFileSecretStore } from './secretstores/local/file';
import { LocalEnvSecretStore } from './secretstores/local/env';
import { lockRegistry } from './lock/registry';
import { sequencerRegistry } from './sequencer/registry';
import { configurationRegistry } from './configuration/registry';
import { InMemoryLockStore } from './lock/in-memory';
import { RedisLockStore } from './lock/redis';
import { EtcdLockStore } from './lock/etcd';
import { InMemorySequencer } from './sequencer/in-memory';
import { RedisSequencer } from './sequencer/redis';
import { PostgresSequencer } from './sequencer/postgresql';
import { MySqlSequencer } from './sequencer/mysql';
import { EtcdSequencer } from './sequencer/etcd';
import { InMemoryConfigurationStore } from './configuration/in-memory';
import { RedisConfigurationStore } from './configuration/redis';
import { PostgresConfigurationStore } from './configuration/postgresql';
import { EtcdConfigurationStore } from './configuration/etcd';
import { pubsubRegistry } from './pubsub/registry';
import { InMemoryPubSub } from './pubsub/in-memory';
import { Mqtt3PubSub } from './pubsub/mqtt3';
import { RabbitMQPubSub } from './pubsub/rabbitmq';
import { JetStreamPubSub } from './pubsub/jetstream';
import { RedisStreamsPubSub } from './pubsub/redis';
import { bindingsRegistry } from './bindings/registry';
import { HttpOutputBinding } from './bindings/http';
import { RedisOutputBinding } from './bindings/redis';
import { PostgresOutputBinding } from './bindings/postgresql';
import { LocalStorageBinding } from './bindings/localstorage';
import { CronBinding } from './bindings/cron';
import { RabbitMQBinding } from './bindings/rabbitmq';
import { Mqtt3Binding } from './bindings/mqtt3';
import { fileRegistry } from './file/registry';
import { LocalFileStore } from './file/local';
import type { Registry } from './registry';
import type { Kind, KindMap } from './store';

stateRegistry.register('in-memory', () => new InMemoryStateStore());
stateRegistry.register('redis', () => new RedisStateStore());
stateRegistry.register(['postgresql', 'postgres'], () => new PostgresStateStore());
stateRegistry.register('mongodb', () => new MongoStateStore());
helloRegistry.register('helloworld', () => new HelloWorld());
lockRegistry.register('in-memory', () => new InMemoryLockStore());
lockRegistry.register('redis', () => new RedisLockStore());
lockRegistry.register('etcd', () => new EtcdLockStore());
sequencerRegistry.register('in-memory', () => new InMemorySequencer());
sequencerRegistry.register('redis', () => new RedisSequencer());
sequencerRegistry.register(['postgresql', 'postgres'], () => new PostgresSequencer());
sequencerRegistry.register('mysql', () => new MySqlSequencer());
sequencerRegistry.register('etcd', () => new EtcdSequencer());
configurationRegistry.register('in-memory', () => new InMemoryConfigurationStore());
configurationRegistry.register('redis', () => new RedisConfigurationStore());
configurationRegistry.register(['postgresql', 'postgres'], () => new PostgresConfigurationStore());
configurationRegistry.register('etcd', () => new EtcdConfigurationStore());
pubsubRegistry.register('in-memory', () => new InMemoryPubSub());
pubsubRegistry.register(['mqtt3', 'mqtt'], () => new Mqtt3PubSub());
pubsubRegistry.register('rabbitmq', () => new RabbitMQPubSub());
pubsubRegistry.register('jetstream', () => new JetStreamPubSub());
pubsubRegistry.register('redis', () => new RedisStreamsPubSub());
bindingsRegistry.register('cron', () => new CronBinding());
bindingsRegistry.register('rabbitmq', () => new RabbitMQBinding());
bindingsRegistry.register(['mqtt3', 'mqtt'], () => new Mqtt3Binding());
bindingsRegistry.register('http', () => new HttpOutputBinding());
bindingsRegistry.register('redis', () => new RedisOutputBinding());
bindingsRegistry.register(['postgresql', 'postgres'], () => new PostgresOutputBinding());
bindingsRegistry.register('localstorage', () => new LocalStorageBinding());
secretStoreRegistry.register('local.file', () => new LocalFileSecretStore());
secretStoreRegistry.register('local.env', () => new LocalEnvSecretStore());
fileRegistry.register('local', () => new LocalFileStore());

/** Registries by kind; the manifest's spec.type prefix picks one. */
export const registries: { [K in Kind]: Registry<KindMap[K]> } = {
  state: stateRegistry,
  hello: helloRegistry,
  secretstores: secretStoreRegistry,
  lock: lockRegistry,
  sequencer: sequencerRegistry,
  configuration: configurationRegistry,
  pubsub: pubsubRegistry,
  bindings: bindingsRegistry,
  file: fileRegistry,
};
