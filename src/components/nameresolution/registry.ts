// The name resolvers, by the name a Configuration's spec.nameResolution.component gives. Not part
// of components/builtin.ts: resolvers come from the Configuration resource, never from manifests.
import { Registry } from '../registry';
import { KubernetesResolver } from './kubernetes';
import { MdnsResolver } from './mdns';
import { SqliteResolver } from './sqlite';
import type { NameResolver } from './types';

export const nameResolutionRegistry = new Registry<NameResolver>('nameresolution');

nameResolutionRegistry.register('sqlite', () => new SqliteResolver());
nameResolutionRegistry.register('mdns', () => new MdnsResolver());
nameResolutionRegistry.register('kubernetes', () => new KubernetesResolver());
