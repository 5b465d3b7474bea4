import { HttpError } from '../http.js';

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** A base64 field of at most `maxBytes` decoded bytes; a 400 with `code` naming the field otherwise. */
export function base64Field(container: Record<string, unknown>, field: string, maxBytes: number, code: string): Buffer {
  const value = container[field];
  if (typeof value !== 'string' || value.length === 0 || value.length > Math.ceil(maxBytes / 3) * 4 || !BASE64.test(value)) {
    throw new HttpError(400, code, `field "${field}" must be base64 of at most ${maxBytes} bytes`);
  }
  return Buffer.from(value, 'base64');
}

/** An optional JSON object field (400 with `code` when it is something else). */
export function objectField(container: Record<string, unknown>, field: string, code: string): Record<string, unknown> | undefined {
  const value = container[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value)) throw new HttpError(400, code, `field "${field}" must be an object`);
  return value as Record<string, unknown>;
}
