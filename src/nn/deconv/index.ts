export { FastDeconv2d, type FastDeconv2dOptions } from './fast_deconv.js';
export { ChannelDeconv, type ChannelDeconvOptions } from './channel_deconv.js';
export { Delinear, type DelinearOptions } from './delinear.js';
export { effectiveBlock } from './stats.js';
