import { Registry } from '../registry';
import type { Binding } from './types';

export const bindingsRegistry = new Registry<Binding>('bindings');
