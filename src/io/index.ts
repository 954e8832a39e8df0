export { save, load, saveCheckpoint, loadCheckpoint, type TrainingState } from './checkpoint.js';
export { encodeSafetensors, decodeSafetensors, type NamedArray, type DecodedSafetensors } from './safetensors.js';
export { exportOnnx } from './onnx.js';
