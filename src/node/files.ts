// Node-only file access: reads name the file when they fail; writes go to a temporary file in the same folder and are renamed into place, so a crash
// or a full disk never leaves a half-written checkpoint behind.
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Module } from '../nn/module.js';
import { load, save } from '../io/checkpoint.js';

/**
 * Writes `bytes` to `path` atomically: a temporary file in the same folder, flushed to disk (fsync) before it is
 * renamed over `path`, so a crash leaves either the old file or the whole new one; the temporary file is removed
 * when anything fails.
 */
export function writeFileAtomic(path: string, bytes: Uint8Array): void {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${Date.now()}.tmp`);
  try {
    const fd = openSync(tmp, 'w');
    try {
      writeFileSync(fd, bytes);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw new Error(`cannot write ${path}: ${(e as Error).message}`);
  }
}

/** A file's bytes; a missing or unreadable file is an error that names it. */
export function readFileBytes(path: string): Uint8Array {
  try {
    return new Uint8Array(readFileSync(path));
  } catch (e) {
    throw new Error(`cannot read ${path}: ${(e as Error).message}`);
  }
}

/** Saves a model's state dict as a .safetensors file. */
export function saveModelFile(model: Module, path: string): void {
  writeFileAtomic(path, save(model));
}

/** Loads a .safetensors file into a model (strict). */
export function loadModelFile(model: Module, path: string): void {
  load(model, readFileBytes(path), { source: path });
}
