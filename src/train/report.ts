// A self-contained HTML report of a BN-versus-deconvolution comparison: the table, the training-loss curves, the
// per-seed test scores drawn as inline SVG (no scripts, no external files), the lr-sweep cells and every run.
import {
  bestRates,
  type CompareRun,
  type CompareSummary,
  isRegression,
  summarize,
  summaryScore,
  testScore,
} from './compare.js';

const COLORS = { bn: '#1f77b4', deconv: '#d62728' } as const;

function esc(s: string): string {
  return s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
}

/** Exponential moving average with bias correction, to make a noisy loss curve readable. */
function smooth(v: number[], beta = 0.9): number[] {
  let avg = 0;
  return v.map((x, i) => {
    avg = beta * avg + (1 - beta) * x;
    return avg / (1 - beta ** (i + 1));
  });
}

function lineChart(
  series: { label: string; color: string; values: number[] }[],
  title: string,
  yLabel: string,
): string {
  const W = 640;
  const H = 300;
  const pad = { l: 56, r: 16, t: 28, b: 36 };
  const n = Math.max(...series.map((s) => s.values.length));
  const all = series.flatMap((s) => s.values).filter(Number.isFinite);
  const lo = Math.min(0, ...all);
  const hi = Math.max(...all) || 1;
  const x = (i: number) => pad.l + (i / Math.max(1, n - 1)) * (W - pad.l - pad.r);
  const y = (v: number) => pad.t + (1 - (v - lo) / (hi - lo)) * (H - pad.t - pad.b);
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => lo + f * (hi - lo));
  const grid = ticks
    .map(
      (t) =>
        `<line x1="${pad.l}" x2="${W - pad.r}" y1="${y(t)}" y2="${y(t)}" stroke="#ddd"/><text x="${pad.l - 6}" y="${y(t) + 4}" text-anchor="end">${t.toFixed(2)}</text>`,
    )
    .join('');
  const lines = series
    .map(
      (s) =>
        `<polyline fill="none" stroke="${s.color}" stroke-width="1.8" points="${s.values.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(' ')}"/>`,
    )
    .join('');
  const legend = series
    .map((s, i) => `<text x="${W - pad.r - 150}" y="${pad.t + 16 + i * 16}" fill="${s.color}">■ ${esc(s.label)}</text>`)
    .join('');
  return `<svg viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" font-family="sans-serif" font-size="11">
<text x="${W / 2}" y="16" text-anchor="middle" font-size="13">${esc(title)}</text>${grid}${lines}${legend}
<text x="${(W + pad.l) / 2}" y="${H - 6}" text-anchor="middle">training step</text>
<text x="14" y="${H / 2}" transform="rotate(-90 14 ${H / 2})" text-anchor="middle">${esc(yLabel)}</text></svg>`;
}

function scoreChart(runs: CompareRun[]): string {
  const W = 640;
  const H = 90 + 22 * runs.length;
  const regress = isRegression(runs);
  const accs = runs.map(testScore);
  const spread = Math.max(...accs) - Math.min(...accs) || Math.abs(accs[0]) || 1;
  const lo = regress ? Math.max(0, Math.min(...accs) - 0.2 * spread) : Math.max(0, Math.min(...accs) - 0.02);
  const hi = regress ? Math.max(...accs) + 0.1 * spread : Math.min(1, Math.max(...accs) + 0.01);
  const x = (v: number) => 150 + ((v - lo) / (hi - lo || 1)) * (W - 190);
  const bars = runs
    .map((r, i) => {
      const yy = 40 + i * 22;
      return `<text x="140" y="${yy + 12}" text-anchor="end">${r.model}, seed ${r.seed}</text><rect x="150" y="${yy}" width="${Math.max(1, x(testScore(r)) - 150).toFixed(1)}" height="16" fill="${COLORS[r.model]}"/><text x="${x(testScore(r)) + 4}" y="${yy + 12}">${testScore(r).toFixed(4)}</text>`;
    })
    .join('');
  return `<svg viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" font-family="sans-serif" font-size="11">
<text x="${W / 2}" y="16" text-anchor="middle" font-size="13">Test ${regress ? 'RMSE' : 'accuracy'} per run (axis from ${lo.toFixed(3)})</text>${bars}</svg>`;
}

/** A learning-rate sweep's cells: one row per rate, each variant's score mean ± std over seeds. */
function sweepTable(runs: CompareRun[], regress: boolean): string {
  const rates = [...new Set(runs.map((r) => r.lr))].sort((a, b) => a - b);
  const cell = (model: string, lr: number) => {
    const [s] = summarize(runs.filter((r) => r.model === model && r.lr === lr));
    if (!s) return '<td>—</td>';
    const [m, sd] = summaryScore(s, regress);
    return `<td>${m.toFixed(4)} ± ${sd.toFixed(4)}</td>`;
  };
  const rows = rates.map((lr) => `<tr><td>${lr}</td>${cell('bn', lr)}${cell('deconv', lr)}</tr>`).join('');
  return `<h2>Learning-rate sweep</h2><table><tr><th>peak lr</th><th>BatchNorm</th><th>deconvolution</th></tr>${rows}</table>`;
}

/** Every run: variant, rate, seed, test score, final training loss, time. */
function runTable(runs: CompareRun[], regress: boolean): string {
  const rows = runs
    .map(
      (r) =>
        `<tr><td>${r.model}</td><td>${r.lr}</td><td>${r.seed}</td><td>${testScore(r).toFixed(4)}</td><td>${r.finalLoss.toFixed(4)}</td><td>${r.seconds.toFixed(1)}</td></tr>`,
    )
    .join('');
  return `<h2>Every run</h2><table><tr><th>model</th><th>peak lr</th><th>seed</th><th>test ${regress ? 'RMSE' : 'accuracy'}</th><th>final train loss</th><th>seconds</th></tr>${rows}</table>`;
}

/**
 * The report as one HTML string. `runs` may span several learning rates (a sweep): the curves and the summary then
 * show each variant at its own best rate (`summary` should be those runs' summaries) and a table shows every cell.
 */
export function compareReportHtml(
  allRuns: CompareRun[],
  summary: CompareSummary[],
  meta: Record<string, string>,
): string {
  const swept = new Set(allRuns.map((r) => r.lr)).size > 1;
  const best = swept ? bestRates(allRuns) : [];
  const runs = swept ? allRuns.filter((r) => best.some((b) => b.model === r.model && b.lr === r.lr)) : allRuns;
  const mean = (model: 'bn' | 'deconv') => {
    const curves = runs.filter((r) => r.model === model).map((r) => r.lossCurve);
    const n = Math.min(...curves.map((c) => c.length));
    return smooth(Array.from({ length: n }, (_, i) => curves.reduce((a, c) => a + c[i], 0) / curves.length));
  };
  const regress = isRegression(allRuns);
  const rows = summary
    .map(
      (s) =>
        `<tr><td>${s.model}${swept ? ` (lr ${best.find((b) => b.model === s.model)?.lr})` : ''}</td><td>${summaryScore(
          s,
          regress,
        )
          .map((v) => v.toFixed(4))
          .join(
            ' ± ',
          )}</td><td>${s.finalLoss.toFixed(4)}</td><td>${s.imagesPerSecond.toFixed(0)}</td><td>${s.runs}</td></tr>`,
    )
    .join('');
  const metaRows = Object.entries(meta)
    .map(([k, v]) => `<tr><td>${esc(k)}</td><td>${esc(v)}</td></tr>`)
    .join('');
  return `<!doctype html><html><head><meta charset="utf-8"><title>netdeconv: BatchNorm vs network deconvolution</title>
<style>body{font-family:sans-serif;max-width:720px;margin:2em auto;color:#222}table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 10px;text-align:right}td:first-child,th:first-child,.setup td{text-align:left}</style></head><body>
<h1>BatchNorm vs network deconvolution</h1>
<table><tr><th>model</th><th>test ${regress ? 'RMSE' : 'accuracy'} (mean ± std)</th><th>final train loss</th><th>images/s</th><th>seeds</th></tr>${rows}</table>
${lineChart(
  [
    { label: 'BatchNorm', color: COLORS.bn, values: mean('bn') },
    { label: 'deconvolution', color: COLORS.deconv, values: mean('deconv') },
  ],
  'Training loss (mean over seeds, smoothed)',
  regress ? 'mean squared error' : 'cross-entropy loss',
)}
${scoreChart(runs)}
${swept ? sweepTable(allRuns, regress) : ''}
${runTable(allRuns, regress)}
<h2>Setup</h2><table class="setup">${metaRows}</table></body></html>
`;
}
