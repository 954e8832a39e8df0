// Fused layers: two PyTorch layers computed by one op whose kernels make one pass where the two would make three
// or four (tfjs's FusedConv2D, torch.ao.nn.intrinsic's BNReLU2d). The same values and gradients as the pair, the
// same parameters and state-dict names as the first layer. nn.utils.fuse (nn/fuse.ts) puts them in a model.
import { fusedReluMaxPool2d } from '../../autograd/ops/pool.js';
import type { Tensor } from '../../autograd/tensor.js';
import { BatchNorm2d } from './batchnorm.js';
import { MaxPool2d } from './pooling.js';

/** BatchNorm2d then ReLU, as one op when normalising with batch statistics (in eval mode, the two apart). */
export class BatchNormReLU2d extends BatchNorm2d {
  /** A BatchNormReLU2d sharing `bn`'s parameters and buffers. */
  static of(bn: BatchNorm2d): BatchNormReLU2d {
    return bn.sharedTwin(BatchNormReLU2d.prototype) as BatchNormReLU2d;
  }

  forward(x: Tensor): Tensor {
    return this.normalize(x, true);
  }
}

/** ReLU then MaxPool2d, as one op: the pool reads its input through the ReLU. */
export class ReLUMaxPool2d extends MaxPool2d {
  /** A ReLUMaxPool2d with `pool`'s geometry. */
  static of(pool: MaxPool2d): ReLUMaxPool2d {
    return pool.sharedTwin(ReLUMaxPool2d.prototype) as ReLUMaxPool2d;
  }

  forward(x: Tensor): Tensor {
    return fusedReluMaxPool2d(x, this.kernelSize, { stride: this.stride, padding: this.padding });
  }
}
