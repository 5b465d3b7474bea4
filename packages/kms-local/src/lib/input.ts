import { serialization, validation } from './kms-fault.js';

/** The parsed JSON body of a request: an object whose members are checked one by one. */
export type RequestBody = Readonly<Record<string, unknown>>;

export function parseRequestBody(raw: Buffer): RequestBody {
  if (raw.length === 0) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw.toString('utf8'));
  } catch {
    throw serialization('The request body is not valid JSON.');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw serialization('The request body must be a JSON object.');
  }
  return parsed as RequestBody;
}

export function requiredString(body: RequestBody, name: string): string {
  const value = body[name];
  if (value === undefined || value === null)
    throw validation(
      `1 validation error detected: Value null at '${lowerFirst(name)}' failed to satisfy constraint: Member must not be null`,
    );
  if (typeof value !== 'string') throw serialization(`${name} must be a string.`);
  if (value.length === 0) throw validation(`${name} must not be empty.`);
  return value;
}

export function optionalString(body: RequestBody, name: string): string | undefined {
  const value = body[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw serialization(`${name} must be a string.`);
  return value;
}

export function optionalInteger(body: RequestBody, name: string, min: number, max: number): number | undefined {
  const value = body[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value)) throw serialization(`${name} must be an integer.`);
  if (value < min || value > max) {
    throw validation(
      `1 validation error detected: Value '${value}' at '${lowerFirst(name)}' failed to satisfy constraint: Member must have value between ${min} and ${max}`,
    );
  }
  return value;
}

export function optionalBoolean(body: RequestBody, name: string): boolean {
  const value = body[name];
  if (value === undefined || value === null) return false;
  if (typeof value !== 'boolean') throw serialization(`${name} must be a boolean.`);
  return value;
}

/** A blob member: base64 in the JSON protocol, with a length range. */
export function requiredBlob(body: RequestBody, name: string, minLength: number, maxLength: number): Buffer {
  const encoded = requiredString(body, name);
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(encoded) || encoded.length % 4 !== 0) {
    throw serialization(`${name} is not valid base64.`);
  }
  const bytes = Buffer.from(encoded, 'base64');
  if (bytes.length < minLength || bytes.length > maxLength) {
    throw validation(
      `1 validation error detected: Value at '${lowerFirst(name)}' failed to satisfy constraint: Member must have length between ${minLength} and ${maxLength}`,
    );
  }
  return bytes;
}

/** An `EncryptionContext` member: a map of strings (absent means empty). */
export function optionalContext(body: RequestBody, name: string): Record<string, string> {
  const value = body[name];
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw serialization(`${name} must be a map of strings.`);
  // No prototype: a "__proto__" key is data like any other, not a way to drop a pair.
  const context = Object.create(null) as Record<string, string>;
  for (const [key, item] of Object.entries(value)) {
    if (typeof item !== 'string') throw serialization(`${name} values must be strings.`);
    if (key.length === 0) throw validation(`${name} keys must not be empty.`);
    context[key] = item;
  }
  return context;
}

function lowerFirst(name: string): string {
  return name.charAt(0).toLowerCase() + name.slice(1);
}
