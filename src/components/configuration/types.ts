// The configuration store contract (Dapr's configuration.Store, with Layotto's group/label/tags
// and writes as optional capabilities). The configuration helper owns this file and refines it.
import type { Component } from '../types';

export interface ConfigurationItem {
  key: string;
  value: string;
  version: string;
  metadata: Record<string, string>;
}

export interface ConfigurationStore extends Component {
  get(req: { keys: string[]; metadata: Record<string, string> }): Promise<ConfigurationItem[]>;
}
