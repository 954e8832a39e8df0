// ONNX export of an eval-mode model. Network deconvolution is folded into plain convolutions first
// (nn.utils.foldDeconv), so the graph holds only standard operators (opset 17): Conv, BatchNormalization, Relu,
// MaxPool, AveragePool, GlobalAveragePool, Flatten, Gemm, Add. Encoded with protobufjs.
import { noGrad } from '../autograd/engine.js';
import { type Tensor, zeros } from '../autograd/tensor.js';
import { fmtShape } from '../backend/shape_info.js';
import { Identity, ReLU, Sigmoid, Tanh } from '../nn/layers/activation.js';
import { BatchNorm2d } from '../nn/layers/batchnorm.js';
import { Flatten, Sequential } from '../nn/layers/container.js';
import { BatchNormReLU2d, ReLUMaxPool2d } from '../nn/layers/fused.js';
import { Conv2d } from '../nn/layers/conv.js';
import { Dropout } from '../nn/layers/dropout.js';
import { Linear } from '../nn/layers/linear.js';
import { AvgPool2d, GlobalAvgPool2d, MaxPool2d } from '../nn/layers/pooling.js';
import { BasicBlock } from '../nn/models/resnet.js';
import type { Module } from '../nn/module.js';
import { foldDeconv } from '../nn/utils.js';
import { ATTR, ModelProto, ONNX_FLOAT } from './onnx_schema.js';

type Attr = { name: string; type: number; i?: number; f?: number; ints?: number[] };

class GraphBuilder {
  nodes: object[] = [];
  initializers: object[] = [];
  private count = 0;

  fresh(prefix: string): string {
    return `${prefix}_${this.count++}`;
  }

  weight(name: string, t: Tensor): string {
    const data = Float32Array.from(t.data);
    this.initializers.push({ name, dims: [...t.shape], dataType: ONNX_FLOAT, rawData: new Uint8Array(data.buffer) });
    return name;
  }

  node(opType: string, inputs: string[], attrs: Attr[] = [], name?: string): string {
    const out = name ?? this.fresh(opType.toLowerCase());
    this.nodes.push({ opType, input: inputs, output: [out], name: out, attribute: attrs });
    return out;
  }
}

const ints = (name: string, v: number[]): Attr => ({ name, type: ATTR.INTS, ints: v });
const int = (name: string, v: number): Attr => ({ name, type: ATTR.INT, i: v });

/** Emits the nodes of one module applied to tensor `x`; returns the output's name. */
function emit(g: GraphBuilder, m: Module, x: string, path: string): string {
  if (m instanceof Sequential)
    return m.namedChildren().reduce((h, [name, child]) => emit(g, child, h, path ? `${path}.${name}` : name), x);
  if (m instanceof Conv2d) {
    const [ph, pw] = m.padding;
    const inputs = [x, g.weight(`${path}.weight`, m.weight)];
    if (m.bias) inputs.push(g.weight(`${path}.bias`, m.bias));
    return g.node('Conv', inputs, [
      ints('kernel_shape', m.kernelSize),
      ints('strides', m.stride),
      ints('pads', [ph, pw, ph, pw]),
      ints('dilations', m.dilation),
      int('group', m.groups),
    ]);
  }
  if (m instanceof BatchNormReLU2d) return g.node('Relu', [emit(g, m.sharedTwin(BatchNorm2d.prototype), x, path)]);
  if (m instanceof ReLUMaxPool2d) return emit(g, m.sharedTwin(MaxPool2d.prototype), g.node('Relu', [x]), path);
  if (m instanceof BatchNorm2d) {
    if (!m.weight || !m.bias || !m.trackRunningStats)
      throw new Error(`exportOnnx: ${path}: BatchNorm2d needs affine parameters and running statistics`);
    const ins = [
      x,
      g.weight(`${path}.weight`, m.weight),
      g.weight(`${path}.bias`, m.bias),
      g.weight(`${path}.running_mean`, m.running_mean),
      g.weight(`${path}.running_var`, m.running_var),
    ];
    return g.node('BatchNormalization', ins, [{ name: 'epsilon', type: ATTR.FLOAT, f: m.eps }]);
  }
  if (m instanceof ReLU) return g.node('Relu', [x]);
  if (m instanceof Sigmoid) return g.node('Sigmoid', [x]);
  if (m instanceof Tanh) return g.node('Tanh', [x]);
  if (m instanceof Identity || m instanceof Dropout) return x;
  if (m instanceof MaxPool2d || m instanceof AvgPool2d) {
    const [ph, pw] = m.padding;
    const attrs = [ints('kernel_shape', m.kernelSize), ints('strides', m.stride), ints('pads', [ph, pw, ph, pw])];
    if (m instanceof AvgPool2d) attrs.push(int('count_include_pad', +m.countIncludePad));
    return g.node(m instanceof MaxPool2d ? 'MaxPool' : 'AveragePool', [x], attrs);
  }
  if (m instanceof GlobalAvgPool2d) return g.node('Flatten', [g.node('GlobalAveragePool', [x])], [int('axis', 1)]);
  if (m instanceof Flatten) {
    if (m.startDim !== 1 || m.endDim !== -1)
      throw new Error(`exportOnnx: ${path}: only Flatten(1, -1) is exported, got (${m.startDim}, ${m.endDim})`);
    return g.node('Flatten', [x], [int('axis', 1)]);
  }
  if (m instanceof Linear) {
    const inputs = [x, g.weight(`${path}.weight`, m.weight)];
    if (m.bias) inputs.push(g.weight(`${path}.bias`, m.bias));
    return g.node('Gemm', inputs, [int('transB', 1)]);
  }
  if (m instanceof BasicBlock) {
    const y1 = emit(g, m.bn1, emit(g, m.conv1, x, `${path}.conv1`), `${path}.bn1`);
    const h = emit(g, m.relu, y1, `${path}.relu`);
    const y = emit(g, m.bn2, emit(g, m.conv2, h, `${path}.conv2`), `${path}.bn2`);
    const shortcut = m.downsample ? emit(g, m.downsample, x, `${path}.downsample`) : x;
    return g.node('Relu', [g.node('Add', [y, shortcut])]);
  }
  throw new Error(
    `exportOnnx: ${path || 'the model'} is a ${m.constructor.name}, which has no ONNX export (supported: Sequential, Conv2d, BatchNorm2d, Linear, pools, ReLU/Sigmoid/Tanh, Flatten, Dropout, Identity, BasicBlock, and FastDeconv2d/Delinear after folding)`,
  );
}

/**
 * The eval-mode model as ONNX bytes, with deconvolution folded into Conv/Gemm. `inputShape` is the input's shape,
 * batch first; the batch dimension is exported as the symbolic "N". The graph's tensors are named "input" and
 * "output".
 */
export function exportOnnx(model: Module, inputShape: readonly number[]): Uint8Array {
  if (inputShape.length < 2) throw new Error(`exportOnnx: inputShape must be (N, …), got ${fmtShape(inputShape)}`);
  const folded = foldDeconv(model);
  const g = new GraphBuilder();
  const output = g.node('Identity', [noGrad(() => emit(g, folded, 'input', ''))], [], 'output');
  // One forward pass fixes the output's shape (and checks that the model accepts the input shape).
  const probe = noGrad(() => folded.forward(zeros(inputShape)));
  const dims = (shape: readonly number[]) => shape.map((d, i) => (i === 0 ? { dimParam: 'N' } : { dimValue: d }));
  const valueInfo = (name: string, shape: readonly number[]) => ({
    name,
    type: { tensorType: { elemType: ONNX_FLOAT, shape: { dim: dims(shape) } } },
  });
  const message = ModelProto.create({
    irVersion: 8,
    producerName: 'netdeconv',
    producerVersion: '0.1.0',
    opsetImport: [{ domain: '', version: 17 }],
    graph: {
      name: 'netdeconv',
      node: g.nodes,
      initializer: g.initializers,
      input: [valueInfo('input', inputShape)],
      output: [valueInfo(output, probe.shape)],
    },
  });
  return ModelProto.encode(message).finish();
}
