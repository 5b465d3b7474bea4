import type { FileHandle } from 'node:fs/promises';
import { writeFully } from './atomic-file.js';
import type { SealSink } from '../seal/seal-into.js';

/** A sealer's output into an open file: the payload from the header area's end, then the header area at 0. */
export function fileSink(file: FileHandle): SealSink {
  let position = 0;
  return {
    async begin(payloadOffset) {
      position = payloadOffset;
    },
    async writePayload(bytes) {
      await writeFully(file, bytes, position);
      position += bytes.length;
    },
    async writeHeaderArea(area) {
      await writeFully(file, area, 0);
    },
  };
}
