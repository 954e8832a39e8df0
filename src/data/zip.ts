// Zip archives (.npz, torch.save files), read with fflate after checking the central directory. fflate trusts the
// directory's entry count and sizes: a count flipped from 4 to 2^26 made it walk 40 million empty entries (minutes),
// and a size flipped high makes it allocate for data the archive cannot hold.
import { unzipSync } from 'fflate';

const EOCD = 0x06054b50;
const ZIP64_LOCATOR = 0x07064b50;
const ZIP64_EOCD = 0x06064b50;
/** The smallest central-directory entry (a name of zero bytes). */
const ENTRY_MIN = 46;
/** Deflate's largest expansion: 258 bytes from one bit-pair of a stream, about 1032 to 1. */
const DEFLATE_MAX_RATIO = 1032;

/** The files of a zip archive by name; throws `what: …` naming the fault when it is not a consistent one. */
export function readZip(bytes: Uint8Array, what: string): Record<string, Uint8Array> {
  const fault = checkDirectory(bytes);
  if (fault) throw new Error(`${what}: ${fault}`);
  try {
    return unzipSync(bytes, {
      filter: (f) => {
        const fits =
          f.compression === 0 ? f.originalSize === f.size : f.originalSize <= f.size * DEFLATE_MAX_RATIO + 64;
        if (!fits) throw new Error(`entry ${f.name} says ${f.size} bytes unpack to ${f.originalSize}, which cannot be`);
        return true;
      },
    });
  } catch (e) {
    throw new Error(`${what}: ${(e as Error).message}`);
  }
}

/** What is wrong with the end-of-central-directory record, or null. */
function checkDirectory(bytes: Uint8Array): string | null {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // The record is 22 bytes plus a comment of up to 65,535, at the end of the file.
  let at = -1;
  for (let i = bytes.length - 22; i >= Math.max(0, bytes.length - 22 - 65535); i--) {
    if (dv.getUint32(i, true) === EOCD) {
      at = i;
      break;
    }
  }
  if (at < 0) return 'no zip end-of-directory record';
  let entries = dv.getUint16(at + 10, true);
  let size = dv.getUint32(at + 12, true);
  let offset = dv.getUint32(at + 16, true);
  let end = at;
  if (at >= 20 && dv.getUint32(at - 20, true) === ZIP64_LOCATOR) {
    const record = Number(dv.getBigUint64(at - 12, true));
    if (!(record + 56 <= at - 20) || dv.getUint32(record, true) !== ZIP64_EOCD)
      return 'a broken zip64 directory record';
    entries = Number(dv.getBigUint64(record + 32, true));
    size = Number(dv.getBigUint64(record + 40, true));
    offset = Number(dv.getBigUint64(record + 48, true));
    end = record;
  }
  if (offset + size > end) return `its directory (${size} bytes at ${offset}) runs past the end of the archive`;
  if (entries * ENTRY_MIN > size)
    return `its directory lists ${entries} entries, more than ${size} bytes of directory can hold`;
  return null;
}
