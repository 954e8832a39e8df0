// The CLI's `--data` specifications → datasets: the embedded digits, Fashion-MNIST, IDX and CIFAR-10 folders,
// .npy/.npz arrays and folders of images. A source with its own test files returns both sets; the others return
// one set that the CLI splits.
import { existsSync, readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { arrayDataset, arrayRegressionDataset, type ArrayDatasetOptions } from '../data/arrays.js';
import type { ImageDataset, RegressionDataset } from '../data/dataset.js';
import type { NpyArray } from '../data/npy.js';
import {
  loadCifar10,
  loadEmbeddedMnist,
  loadFashionMnist,
  loadIdxDataset,
  loadImageFolder,
  loadNpy,
  loadNpz,
} from './data.js';

/** What the model learns: a class per image, or real-valued targets. */
export type Task = 'classify' | 'regress';

/** A loaded `--data` source: a training set, a test set when the source has one, and a description. */
export interface DataSource<D> {
  train: D;
  test?: D;
  description: string;
}

/** The `--data` forms, for help text and errors. */
export const DATA_FORMS = 'mnist, fashion-mnist, idx:DIR, cifar10:DIR, npy:X.npy,Y.npy, npz:FILE, images:DIR';

/** Options of `openDataSource`. */
export interface DataSourceOptions {
  task: Task;
  /** Channel position in rank-4 arrays of npy/npz sources. */
  layout?: ArrayDatasetOptions['layout'];
}

function needClassify(task: Task, what: string): void {
  if (task !== 'classify')
    throw new Error(`--data ${what} holds class labels: --task regress needs npy:X.npy,Y.npy or npz:FILE targets`);
}

/** The first of `names` that exists in `dir`, or null. */
function firstIn(dir: string, names: string[]): string | null {
  for (const n of names) if (existsSync(join(dir, n))) return join(dir, n);
  return null;
}

function idxFolder(dir: string): DataSource<ImageDataset> {
  const pair = (prefix: string) => {
    const images = firstIn(dir, [`${prefix}-images-idx3-ubyte`, `${prefix}-images.idx3-ubyte`]);
    const labels = firstIn(dir, [`${prefix}-labels-idx1-ubyte`, `${prefix}-labels.idx1-ubyte`]);
    if (!images && existsSync(join(dir, `${prefix}-images-idx3-ubyte.gz`)))
      throw new Error(`${dir}: ${prefix}-images-idx3-ubyte.gz is gzip-compressed; gunzip the four files first`);
    return images && labels ? loadIdxDataset(images, labels) : null;
  };
  const train = pair('train');
  if (!train) throw new Error(`${dir}: expected train-images-idx3-ubyte and train-labels-idx1-ubyte`);
  return { train, test: pair('t10k') ?? undefined, description: `IDX files in ${dir}` };
}

function cifarFolder(dir: string): DataSource<ImageDataset> {
  let files: string[];
  try {
    files = readdirSync(dir);
  } catch (e) {
    throw new Error(`cannot read ${dir}: ${(e as Error).message}`);
  }
  const batches = files.filter((f) => /^data_batch_\d+\.bin$/.test(f)).sort();
  if (batches.length === 0) throw new Error(`${dir}: no data_batch_*.bin files (the CIFAR-10 binary version)`);
  const test = files.includes('test_batch.bin') ? loadCifar10([join(dir, 'test_batch.bin')]) : undefined;
  return { train: loadCifar10(batches.map((f) => join(dir, f))), test, description: `CIFAR-10 batches in ${dir}` };
}

function imageFolder(dir: string): DataSource<ImageDataset> {
  const trainDir = firstIn(dir, ['train']);
  const testDir = firstIn(dir, ['test', 'val', 'valid']);
  if (trainDir && testDir) {
    const train = loadImageFolder(trainDir);
    const test = loadImageFolder(testDir, train.classNames);
    return { train, test, description: `images in ${dir} (${train.classNames.join(', ')})` };
  }
  const all = loadImageFolder(dir);
  return { train: all, description: `images in ${dir} (${all.classNames.join(', ')})` };
}

/** The image and target arrays of an .npz: keys x/y, X/Y, images/labels or images/targets. */
function npzPair(path: string): [NpyArray, NpyArray, [string, string]] {
  const arrays = loadNpz(path);
  const keys = Object.keys(arrays);
  for (const [x, y] of [
    ['x', 'y'],
    ['X', 'Y'],
    ['images', 'labels'],
    ['images', 'targets'],
  ]) {
    if (arrays[x] && arrays[y]) return [arrays[x], arrays[y], [`${basename(path)}[${x}]`, `${basename(path)}[${y}]`]];
  }
  throw new Error(
    `${path}: expected arrays named x and y (or X/Y, images/labels, images/targets); it holds ${keys.join(', ')}`,
  );
}

/** Loads the dataset a `--data` specification names. */
export function openDataSource(
  spec: string,
  opts: DataSourceOptions,
): DataSource<ImageDataset> | DataSource<RegressionDataset> {
  const colon = spec.indexOf(':');
  const kind = colon < 0 ? spec : spec.slice(0, colon);
  const arg = colon < 0 ? '' : spec.slice(colon + 1);
  if (colon >= 0 && !arg) throw new Error(`--data ${spec}: a path is missing after '${kind}:'`);
  switch (kind) {
    case 'mnist':
      needClassify(opts.task, spec);
      return { train: loadEmbeddedMnist(), description: 'embedded MNIST digits' };
    case 'fashion-mnist':
      needClassify(opts.task, spec);
      return { train: loadFashionMnist(), description: 'Fashion-MNIST' };
    case 'idx':
      needClassify(opts.task, spec);
      return idxFolder(arg);
    case 'cifar10':
      needClassify(opts.task, spec);
      return cifarFolder(arg);
    case 'images':
      needClassify(opts.task, spec);
      return imageFolder(arg);
    case 'npy':
    case 'npz': {
      let x: NpyArray;
      let y: NpyArray;
      let names: [string, string];
      if (kind === 'npy') {
        const paths = arg.split(',');
        if (paths.length !== 2) throw new Error(`--data ${spec}: expected npy:IMAGES.npy,TARGETS.npy`);
        [x, y] = paths.map(loadNpy);
        names = [basename(paths[0]), basename(paths[1])];
      } else {
        [x, y, names] = npzPair(arg);
      }
      const arrayOpts = { layout: opts.layout, names };
      const train = opts.task === 'regress' ? arrayRegressionDataset(x, y, arrayOpts) : arrayDataset(x, y, arrayOpts);
      return { train, description: `${names.join(' and ')}` } as
        | DataSource<ImageDataset>
        | DataSource<RegressionDataset>;
    }
    default:
      throw new Error(`--data '${spec}' is not one of ${DATA_FORMS}`);
  }
}
