import { InvalidArgumentError } from '@ovseal/container';

/** Object classes a `type=` attribute names (RFC 7512 §2.3). */
export type Pkcs11ObjectType = 'public' | 'private' | 'secret-key' | 'cert' | 'data';

/** A parsed `pkcs11:` URI (RFC 7512). Absent attributes match anything. */
export interface Pkcs11Uri {
  /** Token attributes: `token` (label), `manufacturer`, `serial`, `model`. */
  readonly token?: string;
  readonly manufacturer?: string;
  readonly serial?: string;
  readonly model?: string;
  /** Slot attributes: `slot-id` (decimal), `slot-description`, `slot-manufacturer`. */
  readonly slotId?: bigint;
  readonly slotDescription?: string;
  readonly slotManufacturer?: string;
  /** Module attributes: `library-manufacturer`, `library-description`, `library-version`. */
  readonly libraryManufacturer?: string;
  readonly libraryDescription?: string;
  readonly libraryVersion?: string;
  /** Object attributes: `object` (CKA_LABEL), `id` (CKA_ID bytes), `type`. */
  readonly object?: string;
  readonly id?: Uint8Array;
  readonly type?: Pkcs11ObjectType;
  /** Query attributes: where the module is and where the PIN comes from. */
  readonly modulePath?: string;
  readonly moduleName?: string;
  readonly pinSource?: string;
  readonly pinValue?: string;
}

const PATH_ATTRIBUTES: Record<string, keyof Pkcs11Uri> = {
  token: 'token',
  manufacturer: 'manufacturer',
  serial: 'serial',
  model: 'model',
  'slot-id': 'slotId',
  'slot-description': 'slotDescription',
  'slot-manufacturer': 'slotManufacturer',
  'library-manufacturer': 'libraryManufacturer',
  'library-description': 'libraryDescription',
  'library-version': 'libraryVersion',
  object: 'object',
  id: 'id',
  type: 'type',
};

const QUERY_ATTRIBUTES: Record<string, keyof Pkcs11Uri> = {
  'module-path': 'modulePath',
  'module-name': 'moduleName',
  'pin-source': 'pinSource',
  'pin-value': 'pinValue',
};

const TYPES: readonly Pkcs11ObjectType[] = ['public', 'private', 'secret-key', 'cert', 'data'];
const SCHEME = 'pkcs11:';

/** Percent-decodes to bytes (RFC 3986): `id=%01%a2` is two bytes, any other character is itself in UTF-8. */
function percentDecode(uri: string, value: string): Buffer {
  const bytes: number[] = [];
  for (let i = 0; i < value.length; i++) {
    const char = value[i]!;
    if (char === '%') {
      const hex = value.slice(i + 1, i + 3);
      if (!/^[0-9a-fA-F]{2}$/.test(hex)) throw invalid(uri, `bad percent-encoding near ${JSON.stringify(value.slice(i, i + 3))}`);
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else {
      bytes.push(...Buffer.from(char, 'utf8'));
    }
  }
  return Buffer.from(bytes);
}

function text(uri: string, raw: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(percentDecode(uri, raw));
  } catch (cause) {
    if (cause instanceof InvalidArgumentError) throw cause;
    throw invalid(uri, `${JSON.stringify(raw)} is not UTF-8 once percent-decoded`);
  }
}

function assign(uri: string, out: Record<string, unknown>, name: string, field: keyof Pkcs11Uri, raw: string): void {
  if (out[field] !== undefined) throw invalid(uri, `${name} appears twice`);
  switch (field) {
    case 'id':
      out[field] = new Uint8Array(percentDecode(uri, raw));
      return;
    case 'slotId':
      if (!/^\d+$/.test(raw)) throw invalid(uri, 'slot-id is a decimal number');
      out[field] = BigInt(raw);
      return;
    case 'type': {
      const type = text(uri, raw) as Pkcs11ObjectType;
      if (!TYPES.includes(type)) throw invalid(uri, `type is one of ${TYPES.join(', ')}`);
      out[field] = type;
      return;
    }
    default:
      out[field] = text(uri, raw);
  }
}

function attributes(
  uri: string,
  part: string,
  separator: string,
  known: Record<string, keyof Pkcs11Uri>,
  out: Record<string, unknown>,
  where: string,
): void {
  if (part === '') return;
  for (const item of part.split(separator)) {
    const equals = item.indexOf('=');
    if (equals <= 0) throw invalid(uri, `${JSON.stringify(item)} is not name=value`);
    const name = item.slice(0, equals);
    const field = known[name];
    // Vendor attributes (x-…) are allowed by RFC 7512 and ignored here; anything else is a typo.
    if (field === undefined) {
      if (name.startsWith('x-')) continue;
      throw invalid(uri, `unknown ${where} attribute ${JSON.stringify(name)}`);
    }
    assign(uri, out, name, field, item.slice(equals + 1));
  }
}

function invalid(uri: string, reason: string): InvalidArgumentError {
  return new InvalidArgumentError(`invalid PKCS#11 URI ${JSON.stringify(redactPin(uri))}: ${reason}`, {
    hint: 'e.g. pkcs11:token=ovseal;object=model-kek?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/run/secrets/pin (RFC 7512)',
  });
}

/** The URI with any `pin-value` replaced, for messages and logs. */
export function redactPin(uri: string): string {
  return uri.replace(/(pin-value=)[^&]*/g, '$1***');
}

/**
 * Parses a `pkcs11:` URI as RFC 7512 defines it: path attributes (`;`-separated) name the token
 * and the object, query attributes (`&`-separated) the module and the PIN. Values are
 * percent-decoded; `id` is raw bytes. Unknown attributes are an error (vendor `x-…` ones are
 * ignored), and so is an attribute given twice.
 *
 * @example
 * ```ts
 * const uri = parsePkcs11Uri('pkcs11:token=ovseal;object=kek;type=secret-key?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=env:PIN');
 * uri.token; // 'ovseal'
 * ```
 */
export function parsePkcs11Uri(uri: string): Pkcs11Uri {
  if (!uri.toLowerCase().startsWith(SCHEME)) throw invalid(uri, `it does not start with ${SCHEME}`);
  const rest = uri.slice(SCHEME.length);
  const question = rest.indexOf('?');
  const path = question < 0 ? rest : rest.slice(0, question);
  const query = question < 0 ? '' : rest.slice(question + 1);
  const out: Record<string, unknown> = {};
  attributes(uri, path, ';', PATH_ATTRIBUTES, out, 'path');
  attributes(uri, query, '&', QUERY_ATTRIBUTES, out, 'query');
  if (out['pinSource'] !== undefined && out['pinValue'] !== undefined) throw invalid(uri, 'give pin-source or pin-value, not both');
  if (out['modulePath'] !== undefined && out['moduleName'] !== undefined) throw invalid(uri, 'give module-path or module-name, not both');
  return Object.freeze(out);
}
