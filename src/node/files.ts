// Node-only file output: writes go to a temporary file in the same folder and are renamed into place, so a crash
// or a full disk never leaves a half-written checkpoint behind.
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Module } from '../nn/module.js';
import { load, save } from '../io/checkpoint.js';

/** Writes `bytes` to `path` atomically (temporary file + rename). */
export function writeFileAtomic(path: string, bytes: Uint8Array): void {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${Date.now()}.tmp`);
  try {
    writeFileSync(tmp, bytes);
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw new Error(`cannot write ${path}: ${(e as Error).message}`);
  }
}

/** Saves a model's state dict as a .safetensors file. */
export function saveModelFile(model: Module, path: string): void {
  writeFileAtomic(path, save(model));
}

/** Loads a .safetensors file into a model (strict). */
export function loadModelFile(model: Module, path: string): void {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(readFileSync(path));
  } catch (e) {
    throw new Error(`cannot read ${path}: ${(e as Error).message}`);
  }
  load(model, bytes, { source: path });
}
