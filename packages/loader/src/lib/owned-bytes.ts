/**
 * Returns memory a native addon can wrap: Node 20's N-API refuses typed arrays over a
 * SharedArrayBuffer (`napi_get_arraybuffer_info` accepts only plain ArrayBuffers), and a tensor
 * over caller memory needs the view to start at byte 0 and cover its whole buffer. The container's
 * outputs are plain memory over whole buffers (unless `sharedMemory` is asked for, which the loader
 * never does), so they are used as they are; anything else is copied once.
 */
export function wrappableBytes(bytes: Uint8Array): { bytes: Uint8Array; copied: boolean } {
  const fits = !(bytes.buffer instanceof SharedArrayBuffer) && bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength;
  if (fits) return { bytes, copied: false };
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  return { bytes: copy, copied: true };
}
