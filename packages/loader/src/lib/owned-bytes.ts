/**
 * Returns memory a native addon can wrap: Node 20's N-API refuses typed arrays over a
 * SharedArrayBuffer (`napi_get_arraybuffer_info` accepts only plain ArrayBuffers), and
 * openvino-node's `Tensor` also needs the view to start at byte 0 and cover its whole buffer.
 * The container decrypts large payloads into shared memory, so those are copied once here; small
 * ones already fit and are used as they are.
 */
export function wrappableBytes(bytes: Uint8Array): { bytes: Uint8Array; copied: boolean } {
  const fits =
    !(bytes.buffer instanceof SharedArrayBuffer) && bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength;
  if (fits) return { bytes, copied: false };
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  return { bytes: copy, copied: true };
}
