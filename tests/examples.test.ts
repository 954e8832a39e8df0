// The README's code: every ts/python block is a copy of a file in examples/, every `npm run` script it names
// exists, and (under Node, which runs the examples as a user would, importing 'netdeconv') the examples train.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';

const readme = readFileSync('README.md', 'utf8');
const blocks = [...readme.matchAll(/^```(\w*)\n([\s\S]*?)^```$/gm)].map(([, lang, body]) => ({ lang, body }));
const examples = new Map(
  readdirSync('examples')
    .filter((f) => /\.(ts|py)$/.test(f))
    .map((f) => [f, readFileSync(`examples/${f}`, 'utf8')]),
);
const isNode = typeof (globalThis as any).Deno === 'undefined' && typeof (globalThis as any).Bun === 'undefined';

const s = suite('README and examples');

s('every ts and python block of the README is a file in examples/', () => {
  const code = blocks.filter((b) => b.lang === 'ts' || b.lang === 'python');
  assert.ok(code.length >= 2, `found ${code.length} code blocks`);
  for (const b of code) {
    const file = [...examples].find(([, text]) => text === b.body)?.[0];
    assert.ok(file, `README block starting "${b.body.split('\n')[0]}" is not a copy of any file in examples/`);
  }
});

s('every npm script the README names exists', () => {
  const scripts = JSON.parse(readFileSync('package.json', 'utf8')).scripts as Record<string, string>;
  const named = [...readme.matchAll(/npm (?:run )?(?:--silent )?([a-z][\w:]*)/g)].map((m) => m[1]);
  const builtin = new Set(['ci', 'install', 'test', 'start', 'run']);
  for (const name of named) {
    if (builtin.has(name) && name !== 'test' && name !== 'start') continue;
    assert.ok(scripts[name], `README names 'npm run ${name}', which package.json does not define`);
  }
  for (const name of readme.matchAll(/test:(\w+)/g))
    assert.ok(scripts[`test:${name[1]}`], `README names test:${name[1]}`);
});

if (isNode) {
  s('examples/quickstart.ts trains the deconvolution CNN to a test accuracy above 0.9', () => {
    const out = execFileSync(process.execPath, ['--import', 'tsx', 'examples/quickstart.ts'], { encoding: 'utf8' });
    const accuracy = Number(out.match(/accuracy: ([0-9.]+)/)?.[1]);
    assert.ok(accuracy > 0.9, `accuracy ${accuracy} in: ${out}`);
  });

  s("examples/paper_experiment.sh runs the paper's experiment (here on 128 images) and writes its reports", () => {
    const out = mkdtempSync(join(tmpdir(), 'netdeconv-paper-'));
    try {
      const env = { ...process.env, LIMIT: '128', SEEDS: '1', EPOCHS: '1', TEST_SIZE: '32', OUT: out };
      const log = execFileSync('sh', ['examples/paper_experiment.sh'], {
        encoding: 'utf8',
        env: { ...env, VGG_RATES: '0.02,0.1', RESNET_RATES: '0.1' },
      });
      // The VGG sweeps two rates: the table of cells and each variant at its best rate.
      assert.match(
        log,
        /netdeconv compare: vgg11 with BatchNorm vs its deconvolution twin, 1 seed\(s\) at each of 2 rates/,
      );
      assert.match(log, /best lr/);
      assert.match(log, /netdeconv compare: resnet18 with BatchNorm/);
      for (const f of ['vgg11-1-epoch.html', 'resnet18-1-epoch.html'])
        assert.ok(existsSync(join(out, f)), `${f} was not written; log:\n${log}`);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });

  const torch = spawnSync('/usr/bin/python3', ['-c', 'import torch'], { encoding: 'utf8' }).status === 0;
  // PyTorch comes from Debian's python3-torch (.ci/run installs it); a machine without it skips this one test.
  (torch ? s : s.skip)('examples/quickstart.py (PyTorch) trains the BatchNorm CNN to a test accuracy above 0.9', () => {
    const out = execFileSync('/usr/bin/python3', ['examples/quickstart.py'], {
      encoding: 'utf8',
      env: { ...process.env, OPENBLAS_NUM_THREADS: '2' },
    });
    const accuracy = Number(out.match(/'accuracy': ([0-9.]+)/)?.[1]);
    assert.ok(accuracy > 0.9, `accuracy ${accuracy} in: ${out}`);
  });
}

s.run();
