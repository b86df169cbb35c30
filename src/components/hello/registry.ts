import { Registry } from '../registry';
import type { HelloService } from './types';

export const helloRegistry = new Registry<HelloService>('hello');
