// The mesh proxy's part of a reload: the MeshProxy resources this app uses (scopes), handed to the
// running proxy to apply in place; a resource it refuses is reported as file:line.
import { type MeshProxy, ProxyConfigError } from '../../mesh/proxy';
import { type LoadedMeshProxy, ManifestError } from '../loader';

export function proxiesFor(loaded: readonly LoadedMeshProxy[], appId: string): LoadedMeshProxy[] {
  return loaded.filter((m) => m.manifest.scopes.length === 0 || m.manifest.scopes.includes(appId));
}

export async function updateProxy(proxy: MeshProxy, loaded: readonly LoadedMeshProxy[], appId: string): Promise<void> {
  const mine = proxiesFor(loaded, appId);
  try {
    await proxy.update(mine.map((m) => m.manifest));
  } catch (e) {
    if (!(e instanceof ProxyConfigError) || mine.length === 0) throw e;
    const m = mine[e.resource] ?? mine[0]!;
    throw new ManifestError(m.file, m.lineOf(e.path), e.path.join('.'), e.message);
  }
}
