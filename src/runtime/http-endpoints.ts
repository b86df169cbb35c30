// HTTPEndpoint resources into the endpoints service invocation calls: scopes honoured, header
// values resolved like component metadata (value, envRef, secretKeyRef through the secret stores
// loaded by then, with auth.secretStore naming the store).
import type { Logger } from 'pino';
import type { ComponentStore } from '../components/store';
import type { HttpEndpoint } from '../core/invoke';
import type { LoadedHttpEndpoint } from './loader';
import { ManifestError } from './loader';
import { MetadataResolveError, resolveMetadata, type SecretResolver } from './metadata';

function secretsOf(components: ComponentStore): SecretResolver {
  return {
    resolve: async (store, name, key) => {
      const c = components.get('secretstores', store);
      if (!c) throw new Error(`secret store ${store} is not loaded`);
      const data = await c.instance.getSecret({ name, metadata: {} });
      if (!(key in data)) throw new Error(`secret ${name} in secret store ${store} has no key ${key}`);
      return data[key]!;
    },
  };
}

export async function resolveHttpEndpoints(loaded: LoadedHttpEndpoint[], components: ComponentStore, appId: string, log: Logger): Promise<HttpEndpoint[]> {
  const out: HttpEndpoint[] = [];
  for (const { manifest: m, file, line } of loaded) {
    if (m.scopes.length > 0 && !m.scopes.includes(appId)) continue;
    if (m.spec.clientTLS !== undefined) log.warn(`HTTPEndpoint ${m.metadata.name}: spec.clientTLS is not supported yet; the system's CAs and no client certificate are used`);
    try {
      const headers = await resolveMetadata(m.spec.headers, { env: process.env, secretStore: m.auth?.secretStore, secrets: secretsOf(components) });
      out.push({ name: m.metadata.name, baseUrl: m.spec.baseUrl, headers });
    } catch (e) {
      const field = e instanceof MetadataResolveError ? `spec.headers.${e.index}` : 'spec.headers';
      throw new ManifestError(file, line, field, (e as Error).message);
    }
  }
  return out;
}
