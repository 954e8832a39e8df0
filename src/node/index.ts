// Node-only helpers (file system, embedded data through require). Import from 'netdeconv/node'.
export {
  loadEmbeddedMnist,
  loadFashionMnist,
  loadIdxDataset,
  loadCifar10,
  loadNpy,
  loadNpz,
  loadImageFolder,
} from './data.js';
export { openDataSource, DATA_FORMS, type DataSource, type DataSourceOptions, type Task } from './data_source.js';
export { buildModel, MODEL_NAMES, type ModelName, type ModelSpec } from './model_zoo.js';
export { ProgressBar } from './progress.js';
export { readFileBytes, writeFileAtomic, saveModelFile, loadModelFile } from './files.js';
export { enableRelaxedSimd } from '../backend/wasm/loader.js';
