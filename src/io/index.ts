export { save, load, loadPretrained, saveCheckpoint, loadCheckpoint, type TrainingState } from './checkpoint.js';
export { encodeSafetensors, decodeSafetensors, type NamedArray, type DecodedSafetensors } from './safetensors.js';
export { exportOnnx } from './onnx.js';
export { decodeTorchSave, type TorchTensor } from './torch_save.js';
