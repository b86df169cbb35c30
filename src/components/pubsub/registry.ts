import { Registry } from '../registry';
import type { PubSub } from './types';

export const pubsubRegistry = new Registry<PubSub>('pubsub');
