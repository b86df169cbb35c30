import { Registry } from '../registry';
import type { SequencerStore } from './types';

export const sequencerRegistry = new Registry<SequencerStore>('sequencer');
