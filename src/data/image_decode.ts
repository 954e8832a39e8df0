// PNG and JPEG bytes → pixels, with two well-kept pure-JS decoders (fast-png, jpeg-js), so image folders load in
// every runtime without a native add-on.
import { convertIndexedToRgb, decode as decodePng, hasPngSignature } from 'fast-png';
import { decode as decodeJpeg } from 'jpeg-js';

/** A decoded image: `channels` values per pixel (1 grey, 2 grey+alpha, 3 RGB, 4 RGBA), row-major, in [0, 1]. */
export interface DecodedImage {
  width: number;
  height: number;
  channels: number;
  data: Float32Array;
}

/** Decodes a PNG (8- or 16-bit, any colour type) or a baseline/progressive JPEG; `name` appears in errors. */
export function decodeImage(bytes: Uint8Array, name = 'image'): DecodedImage {
  if (hasPngSignature(bytes)) {
    let png: ReturnType<typeof decodePng>;
    try {
      png = decodePng(bytes);
    } catch (e) {
      throw new Error(`${name}: cannot decode this PNG: ${(e as Error).message}`);
    }
    if (png.palette) {
      const rgb = convertIndexedToRgb(png);
      const channels = rgb.length / (png.width * png.height);
      return { width: png.width, height: png.height, channels, data: Float32Array.from(rgb, (v) => v / 255) };
    }
    if (png.depth !== 8 && png.depth !== 16)
      throw new Error(`${name}: PNG bit depth ${png.depth} is not supported (8 or 16 bits per channel)`);
    const max = 2 ** png.depth - 1;
    return {
      width: png.width,
      height: png.height,
      channels: png.channels,
      data: Float32Array.from(png.data, (v) => v / max),
    };
  }
  if (bytes[0] === 0xff && bytes[1] === 0xd8) {
    let jpeg: { width: number; height: number; data: Uint8Array };
    try {
      jpeg = decodeJpeg(bytes, { useTArray: true, formatAsRGBA: false, maxMemoryUsageInMB: 1024 });
    } catch (e) {
      throw new Error(`${name}: cannot decode this JPEG: ${(e as Error).message}`);
    }
    const channels = jpeg.data.length / (jpeg.width * jpeg.height);
    return { width: jpeg.width, height: jpeg.height, channels, data: Float32Array.from(jpeg.data, (v) => v / 255) };
  }
  throw new Error(`${name}: not a PNG or JPEG file (its first bytes are ${[...bytes.subarray(0, 4)].join(' ')})`);
}
