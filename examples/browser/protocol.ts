// Messages between the page (main.ts) and the training worker (worker.ts).
export type Variant = 'bn' | 'deconv';

export type ToWorker =
  | { type: 'start'; variants: Variant[]; lr: number; epochs: number; batchSize: number }
  | { type: 'stop' }
  | { type: 'lrfind'; variant: Variant };

export type FromWorker =
  | { type: 'ready'; backend: string; threads: number; train: number; test: number }
  | { type: 'step'; variant: Variant; step: number; loss: number; imagesPerSecond: number }
  | { type: 'eval'; variant: Variant; step: number; accuracy: number }
  | { type: 'predictions'; variant: Variant; pixels: Uint8Array; labels: number[]; predicted: number[] }
  | { type: 'lrfind'; variant: Variant; lrs: number[]; smoothed: number[]; suggestion: number }
  | { type: 'done'; reason: 'finished' | 'stopped' }
  | { type: 'error'; message: string };
