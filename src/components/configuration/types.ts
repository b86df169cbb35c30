// The configuration store contract: Dapr's configuration.Store (get, subscribe by id, unsubscribe)
// plus Layotto's group/label/tags and writes as an optional capability. Items live in a
// (group, label) namespace; the Dapr API always uses the default one ("default"/"default").
import type { Component } from '../types';

export const DEFAULT_GROUP = 'default';
export const DEFAULT_LABEL = 'default';

export interface ConfigurationItem {
  key: string;
  /** Empty in an update means the key was deleted (daprd delivers deletions that way). */
  value: string;
  version: string;
  metadata: Record<string, string>;
  /** Layotto's extras; stores without them report the defaults. */
  group?: string;
  label?: string;
  tags?: Record<string, string>;
}

export interface ConfigurationGetRequest {
  /** Empty = every key of the namespace. */
  keys: string[];
  metadata: Record<string, string>;
  group?: string;
  label?: string;
}

export type ConfigurationSubscribeRequest = ConfigurationGetRequest;

export interface ConfigurationUpdate {
  id: string;
  items: ConfigurationItem[];
}

/** Called for every change; a rejected promise is logged by the store, never fatal. */
export type ConfigurationHandler = (update: ConfigurationUpdate) => void | Promise<void>;

export interface ConfigurationWriteItem {
  key: string;
  value: string;
  group: string;
  label: string;
  tags: Record<string, string>;
  metadata: Record<string, string>;
}

export interface ConfigurationStore extends Component {
  get(req: ConfigurationGetRequest): Promise<ConfigurationItem[]>;
  /**
   * Starts delivering changes of `keys` (all keys when empty) to handler; returns the subscription id.
   * `onError` ends a subscription the store can no longer serve (connection lost for good, store closed).
   */
  subscribe(req: ConfigurationSubscribeRequest, handler: ConfigurationHandler, onError?: (e: Error) => void): Promise<string>;
  /** Stops a subscription; rejects for an unknown id, like contrib's stores. */
  unsubscribe(id: string): Promise<void>;
  /** Layotto SaveConfiguration: upserts (a version bump each write). Optional capability. */
  save?(req: { items: ConfigurationWriteItem[]; metadata: Record<string, string> }): Promise<void>;
  /** Layotto DeleteConfiguration. Optional capability. */
  delete?(req: { keys: string[]; group: string; label: string; metadata: Record<string, string> }): Promise<void>;
}
