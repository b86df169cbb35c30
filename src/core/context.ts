// What core operations need from the running sidecar: the live components and its identity.
import type { ComponentStore } from '../components/store';

export interface CoreContext {
  components: ComponentStore;
  appId: string;
  namespace: string;
  runtimeVersion: string;
}
