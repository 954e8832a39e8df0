// Runs every *.test.ts in this folder as one uvu session (uvu prints the totals that scripts/test.mjs reads).
import { readdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

(globalThis as any).UVU_DEFER = 1;
const dir = dirname(fileURLToPath(import.meta.url));
const only = process.argv.slice(2);
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.test.ts') && (only.length === 0 || only.some((o) => f.includes(o))))
  .sort();
const { exec } = await import('uvu');
for (const [i, f] of files.entries()) {
  (globalThis as any).UVU_QUEUE.push([f]);
  (globalThis as any).UVU_INDEX = i;
  await import(pathToFileURL(`${dir}/${f}`).href);
}
await exec();
