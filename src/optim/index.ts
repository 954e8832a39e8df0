// optim: optimizers, learning-rate schedules and the LR finder.
export { Optimizer, type ParamGroup, type ParamsInput, type OptimizerStateDict } from './optimizer.js';
export { SGD, type SGDOptions } from './sgd.js';
export { Adam, AdamW, type AdamOptions } from './adam.js';
/** Learning-rate schedules (`torch.optim.lr_scheduler`). */
export * as lrScheduler from './lr_scheduler.js';
export { lrFinder, type LrFinderOptions, type LrFinderResult } from './lr_finder.js';
