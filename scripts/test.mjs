// Runs the test suite (tests/run.ts) under Node (through tsx) or, with --deno, under Deno (the `deno` npm
// package's binary), and ends with the plain line CI reads: "N passed, N failed". Other arguments select test files.
import { spawn } from 'node:child_process';

const args = process.argv.slice(2);
const deno = args.includes('--deno');
const filters = args.filter((a) => a !== '--deno');
const [cmd, cmdArgs] = deno
  ? ['node_modules/.bin/deno', ['run', '-A', '--sloppy-imports', '--no-lock', 'tests/run.ts', ...filters]]
  : [process.execPath, ['--import', 'tsx', 'tests/run.ts', ...filters]];
const child = spawn(cmd, cmdArgs, { stdio: ['ignore', 'pipe', 'inherit'] });
let out = '';
child.stdout.on('data', (chunk) => {
  process.stdout.write(chunk);
  out += chunk.toString();
});
child.on('close', (code) => {
  // uvu's summary: "Total: N", "Passed: N", "Skipped: N" (with ANSI colours).
  const plain = out.replace(/\x1b\[[0-9;]*m/g, '');
  const grab = (label) => Number(plain.match(new RegExp(`${label}:\\s+(\\d+)`))?.[1] ?? NaN);
  const total = grab('Total');
  const passed = grab('Passed');
  const skipped = grab('Skipped') || 0;
  if (!Number.isFinite(total) || !Number.isFinite(passed)) {
    console.log('0 passed, 1 failed');
    console.error(`test runner exited with code ${code} before printing its summary`);
    process.exit(1);
  }
  const failed = total - passed - skipped;
  console.log(`${deno ? 'deno: ' : ''}${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
  process.exit(failed > 0 || code !== 0 ? 1 : 0);
});
