// Lets tfjs-wasm 4.22 load its threaded build in Node, which it refuses by itself. Import before tfjs initializes,
// in a process of its own: it replaces globals (Blob, URL.createObjectURL) for the whole process.
//
// What tfjs does, and what stands in for it here:
// - WASM_HAS_MULTITHREAD_SUPPORT is hard-wired to false when IS_NODE: set it to true.
// - Its Emscripten glue hands the pthread worker script and the main script to `new Worker` / `importScripts` as
//   Blob URLs; Node's worker_threads cannot load a Blob URL. Blobs here keep their text, and an object URL is a
//   file written with that text.
// - The main script is the rollup bundle's factory function, which refers to the bundle's CommonJS shims
//   (require$$0…, commonjsGlobal): each worker defines them before loading it.
// - Its thread pool is sized to half the logical cores (it assumes two hyperthreads per core), so a 2-core
//   machine gets one thread: os.cpus() reports each core twice.
import * as fs from 'node:fs';
import os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'netdeconv-bench-tfjs-'));
process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));

let files = 0;
function writeScript(text: string): string {
  const file = path.join(dir, `script${files++}.js`);
  fs.writeFileSync(file, text);
  return file;
}

/** Run in each pthread worker before it loads the main script. */
const workerPrelude = `{
  const fs = require('fs'), path = require('path');
  let files = 0;
  URL.createObjectURL = (blob) => {
    const file = path.join(${JSON.stringify(dir)}, 'worker' + process.pid + '-' + require('worker_threads').threadId + '-' + files++ + '.js');
    fs.writeFileSync(file, blob.text);
    return file;
  };
  URL.revokeObjectURL = () => {};
  Object.assign(globalThis, { require$$0: fs, require$$1: path, require$$3: require('perf_hooks'), require$$4: require('os'), commonjsGlobal: globalThis });
}
`;

/** A Blob that keeps its text, so it can be written to a file (and survives postMessage as a plain object). */
class TextBlob {
  readonly text: string;
  constructor(parts: string[]) {
    this.text = parts.join('');
  }
}

export function enableTfjsThreadsInNode(): void {
  (globalThis as { Blob: unknown }).Blob = TextBlob;
  URL.createObjectURL = (blob: unknown) => {
    const { text } = blob as TextBlob;
    const isWorkerScript = text.startsWith('"use strict";var Module={}');
    return writeScript(isWorkerScript ? workerPrelude + text : text);
  };
  URL.revokeObjectURL = () => {};
  const cpus = os.cpus;
  (os as { cpus: typeof os.cpus }).cpus = () => [...cpus(), ...cpus()];
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', true);
}
