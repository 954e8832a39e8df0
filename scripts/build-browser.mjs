// Builds the live training page into examples/browser/dist: the page and worker bundles (esbuild, ES2022, the
// library's wasm embedded as base64), uPlot's stylesheet, the HTML, and digits.bin — 4,000 of the embedded MNIST
// digits (a seeded choice) as bytes: u32 count, count labels, count·784 pixels.
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { build } from 'esbuild';
import { loadEmbeddedMnist } from '../dist/node.js';

const src = 'examples/browser';
const out = `${src}/dist`;
mkdirSync(out, { recursive: true });
const common = {
  bundle: true,
  format: 'esm',
  target: 'es2022',
  platform: 'browser',
  sourcemap: true,
  logLevel: 'warning',
};
await build({ ...common, entryPoints: [`${src}/main.ts`], outfile: `${out}/main.js` });
await build({ ...common, entryPoints: [`${src}/worker.ts`], outfile: `${out}/worker.js` });
copyFileSync(`${src}/index.html`, `${out}/index.html`);
copyFileSync('node_modules/uplot/dist/uPlot.min.css', `${out}/uPlot.min.css`);

const { test: subset } = loadEmbeddedMnist().split(4000, 42);
const count = subset.length;
const bytes = new Uint8Array(4 + count + count * 784);
new DataView(bytes.buffer).setUint32(0, count, true);
bytes.set(Uint8Array.from(subset.labels), 4);
bytes.set(
  Uint8Array.from(subset.images, (v) => Math.round(v * 255)),
  4 + count,
);
writeFileSync(`${out}/digits.bin`, bytes);
console.log(`built ${out}/ (index.html, main.js, worker.js, digits.bin with ${count} digits)`);
