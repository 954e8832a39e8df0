// Node-only file access: reads name the file when they fail; writes go to a temporary file in the same folder and are renamed into place, so a crash
// or a full disk never leaves a half-written checkpoint behind.
import { closeSync, fsyncSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Module } from '../nn/module.js';
import { load, save } from '../io/checkpoint.js';

/**
 * Writes `bytes` to `path` atomically: a temporary file in the same folder, flushed to disk (fsync) before it is
 * renamed over `path`, so a crash leaves either the old file or the whole new one; the temporary file is removed
 * when anything fails, and the next write of `path` removes one left by a killed process.
 */
export function writeFileAtomic(path: string, bytes: Uint8Array): void {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${Date.now()}.tmp`);
  removeStaleTemporaries(path);
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

/** Whether process `pid` is running (signal 0 tests without signalling; EPERM: it runs as another user). */
function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as { code?: string }).code === 'EPERM';
  }
}

/**
 * Removes the temporary files that earlier writes of `path` left when their process was killed between write and
 * rename (a process that is still running may be writing its own: those stay).
 */
function removeStaleTemporaries(path: string): void {
  const base = basename(path);
  let entries: string[];
  try {
    entries = readdirSync(dirname(path));
  } catch {
    return; // a missing folder: the write itself reports it
  }
  for (const e of entries) {
    if (!e.startsWith(`.${base}.`) || !e.endsWith('.tmp')) continue;
    const pid = Number(e.slice(base.length + 2).split('.')[0]);
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && !isRunning(pid))
      rmSync(join(dirname(path), e), { force: true });
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
