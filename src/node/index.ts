// Node-only helpers (file system, embedded data through require). Import from 'netdeconv/node'.
export { loadEmbeddedMnist, loadIdxDataset, loadCifar10 } from './data.js';
export { ProgressBar } from './progress.js';
export { writeFileAtomic, saveModelFile, loadModelFile } from './files.js';
export { enableRelaxedSimd } from './relaxed_simd.js';
