/** A Buffer that crossed threads (structured clone) arrives as a plain Uint8Array: the same bytes seen as a Buffer again, not copied. */
export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
