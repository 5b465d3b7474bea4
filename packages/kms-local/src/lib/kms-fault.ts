/**
 * An error answered in the KMS JSON 1.1 shape: `{"__type": "...", "message": "..."}` with an HTTP
 * status. `@aws-sdk/client-kms` turns `__type` into its own exception class (`NotFoundException`, …).
 */
export class KmsFault extends Error {
  readonly type: string;
  readonly status: number;

  constructor(type: string, message: string, status = 400) {
    super(message);
    this.name = type;
    this.type = type;
    this.status = status;
  }
}

export function notFound(message: string): KmsFault {
  return new KmsFault('NotFoundException', message);
}

export function validation(message: string): KmsFault {
  return new KmsFault('ValidationException', message);
}

export function invalidState(message: string): KmsFault {
  return new KmsFault('KMSInvalidStateException', message);
}

export function invalidCiphertext(): KmsFault {
  // Real KMS says nothing about which check failed; neither do we.
  return new KmsFault('InvalidCiphertextException', 'The ciphertext, the encryption context or the key is invalid.');
}

export function serialization(message: string): KmsFault {
  return new KmsFault('SerializationException', message);
}
