// The page: controls, live uPlot charts and the grid of predictions. All training happens in worker.js.
import uPlot from 'uplot';
import type { FromWorker, ToWorker, Variant } from './protocol.js';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const worker = new Worker('worker.js', { type: 'module' });
const send = (m: ToWorker) => worker.postMessage(m);
const COLORS: Record<Variant, string> = { bn: '#1f77b4', deconv: '#d62728' };
const NAMES: Record<Variant, string> = { bn: 'BatchNorm', deconv: 'deconvolution' };

function chart(el: HTMLElement, yLabel: string, xLog = false): uPlot {
  return new uPlot(
    {
      width: 500,
      height: 260,
      scales: { x: { time: false, distr: xLog ? 3 : 1 } },
      axes: [{ label: xLog ? 'learning rate' : 'step' }, { label: yLabel }],
      series: [
        {},
        { label: NAMES.bn, stroke: COLORS.bn, width: 1.5 },
        { label: NAMES.deconv, stroke: COLORS.deconv, width: 1.5 },
      ],
    },
    [[], [], []],
    el,
  );
}

const lossChart = chart($('loss'), 'cross-entropy');
const accChart = chart($('accuracy'), 'accuracy');
const lrChart = chart($('lrplot'), 'smoothed loss', true);

/** Series data: x values and one y array per variant, aligned on x (null where a variant has no point). */
class Series {
  private xs: number[] = [];
  private ys: Record<Variant, (number | null)[]> = { bn: [], deconv: [] };
  add(variant: Variant, x: number, y: number): void {
    let i = this.xs.length - 1;
    if (i < 0 || this.xs[i] !== x) {
      this.xs.push(x);
      this.ys.bn.push(null);
      this.ys.deconv.push(null);
      i++;
    }
    this.ys[variant][i] = y;
  }
  data(): uPlot.AlignedData {
    return [this.xs, this.ys.bn, this.ys.deconv] as uPlot.AlignedData;
  }
}

let loss = new Series();
let acc = new Series();
const lastAccuracy: Partial<Record<Variant, number>> = {};
const speed: Partial<Record<Variant, number>> = {};

function status(text: string): void {
  $('status').textContent = text;
}

function drawGrid(m: Extract<FromWorker, { type: 'predictions' }>): void {
  // The grid shows the deconvolution model's predictions when both run (and the only model's otherwise).
  if (m.variant === 'bn' && ($('variant') as HTMLSelectElement).value === 'both') return;
  const grid = $('grid');
  grid.replaceChildren();
  m.labels.forEach((label, i) => {
    const cell = document.createElement('div');
    cell.className = 'digit';
    const canvas = document.createElement('canvas');
    canvas.width = 28;
    canvas.height = 28;
    const img = new ImageData(28, 28);
    for (let p = 0; p < 784; p++) {
      const v = 255 - m.pixels[i * 784 + p];
      img.data.set([v, v, v, 255], p * 4);
    }
    canvas.getContext('2d')!.putImageData(img, 0, 0);
    const caption = document.createElement('div');
    caption.textContent = `${m.predicted[i]} (${label})`;
    if (m.predicted[i] !== label) caption.className = 'wrong';
    cell.append(canvas, caption);
    grid.append(cell);
  });
}

function setRunning(running: boolean): void {
  ($('start') as HTMLButtonElement).disabled = running;
  ($('lrfind') as HTMLButtonElement).disabled = running;
  ($('stop') as HTMLButtonElement).disabled = !running;
}

worker.onmessage = (e: MessageEvent<FromWorker>) => {
  const m = e.data;
  switch (m.type) {
    case 'ready':
      status(
        `ready: ${m.train} training and ${m.test} test digits, backend ${m.backend}, ${m.threads} thread${m.threads > 1 ? 's' : ''}`,
      );
      setRunning(false);
      break;
    case 'step': {
      loss.add(m.variant, m.step, m.loss);
      // A running mean of the last losses, in data attributes: what a reader (or the browser test) can check.
      const el = $('loss');
      const key = `${m.variant}Loss`;
      const avg = el.dataset[key] ? 0.9 * Number(el.dataset[key]) + 0.1 * m.loss : m.loss;
      el.dataset[key] = String(avg);
      if (!el.dataset[`${m.variant}FirstLoss`]) el.dataset[`${m.variant}FirstLoss`] = String(m.loss);
      speed[m.variant] = m.imagesPerSecond;
      if (m.step % 2 === 0) lossChart.setData(loss.data());
      break;
    }
    case 'eval': {
      acc.add(m.variant, m.step, m.accuracy);
      accChart.setData(acc.data());
      lastAccuracy[m.variant] = m.accuracy;
      const parts = (Object.keys(lastAccuracy) as Variant[]).map(
        (v) => `${NAMES[v]} ${(lastAccuracy[v]! * 100).toFixed(1)}% (${speed[v]?.toFixed(0)} img/s)`,
      );
      status(`step ${m.step}: ${parts.join(' · ')}`);
      break;
    }
    case 'predictions':
      drawGrid(m);
      break;
    case 'lrfind': {
      const other = m.variant === 'bn' ? 'deconv' : 'bn';
      const data = { bn: [] as (number | null)[], deconv: [] as (number | null)[] };
      data[m.variant] = m.smoothed;
      data[other] = m.smoothed.map(() => null);
      lrChart.setData([m.lrs, data.bn, data.deconv] as uPlot.AlignedData);
      status(`LR finder (${NAMES[m.variant]}): suggested peak lr ${m.suggestion.toExponential(2)}`);
      ($('lr') as HTMLInputElement).value = m.suggestion.toPrecision(2);
      setRunning(false);
      break;
    }
    case 'done':
      lossChart.setData(loss.data());
      status(`${$('status').textContent} — ${m.reason}`);
      setRunning(false);
      break;
    case 'error':
      status(`error: ${m.message}`);
      setRunning(false);
      break;
  }
};

$('start').onclick = () => {
  const choice = ($('variant') as HTMLSelectElement).value;
  const variants: Variant[] = choice === 'both' ? ['bn', 'deconv'] : [choice as Variant];
  loss = new Series();
  acc = new Series();
  for (const key of Object.keys($('loss').dataset)) delete $('loss').dataset[key];
  setRunning(true);
  status('training…');
  send({
    type: 'start',
    variants,
    lr: Number(($('lr') as HTMLInputElement).value),
    epochs: Number(($('epochs') as HTMLInputElement).value),
    batchSize: 32,
  });
};
$('stop').onclick = () => send({ type: 'stop' });
$('lrfind').onclick = () => {
  const choice = ($('variant') as HTMLSelectElement).value;
  setRunning(true);
  status('sweeping the learning rate…');
  send({ type: 'lrfind', variant: choice === 'bn' ? 'bn' : 'deconv' });
};
