import type { KeyObject } from 'node:crypto';
import { createLocalSigner } from '../../create-local-signer.js';
import { InvalidArgumentError, SignatureInvalidError } from '../../errors.js';
import type { Signer } from '../../types.js';
import type { HeaderSignature } from '../format/header-codec.js';
import { algorithmOf, rawPublicKey, signedMessage, verifyCore } from './signature.js';

function isSigner(value: Signer | KeyObject | string): value is Signer {
  return typeof value === 'object' && typeof (value as Partial<Signer>).sign === 'function' && !('asymmetricKeyType' in value);
}

/** A {@link Signer} for what `seal` accepts: a Signer as is, a local key (PEM or KeyObject) wrapped. */
export function toSigner(input: Signer | KeyObject | string): Signer {
  if (isSigner(input)) {
    if (algorithmOf(input.publicKey) !== input.algorithm) {
      throw new InvalidArgumentError(`the signer says ${input.algorithm} but its public key is not`);
    }
    return input;
  }
  return createLocalSigner(input);
}

const SIGNATURE_LENGTH = 64;

/** A zero signature of the right size: the header length is known before the payload is sealed. */
export function placeholderSignature(signer: Signer): HeaderSignature {
  return {
    algorithm: signer.algorithm,
    publicKey: rawPublicKey(signer.publicKey, signer.algorithm),
    signature: new Uint8Array(SIGNATURE_LENGTH),
  };
}

/**
 * Signs the core with any signer (local, HSM, KMS) and checks the result against the signer's
 * public key before it goes into a header, so a signer that returns another encoding or signs
 * with another key fails here, with nothing written.
 */
export async function signCoreWith(core: Uint8Array, signer: Signer): Promise<HeaderSignature> {
  const signature = await signer.sign(signedMessage(core));
  const result = {
    algorithm: signer.algorithm,
    publicKey: rawPublicKey(signer.publicKey, signer.algorithm),
    signature: Uint8Array.from(signature),
  };
  if (signature.length !== SIGNATURE_LENGTH || !verifyCore(core, result)) {
    throw new SignatureInvalidError(
      `the ${signer.algorithm} signer returned a signature that does not verify under its public key (${signature.length} bytes; the format stores 64)`,
    );
  }
  return result;
}
