import { createHmac, timingSafeEqual } from 'node:crypto';
import { makeCredential } from '@ovseal/key-tpm';
import type { ActivationChallenge } from '@ovseal/broker-protocol';
import { HttpError } from '../http.js';
import { newNonce, nonceExpiry } from '../nonce.js';
import type { EnrolmentClaims } from './enrolment-claims.js';

interface Enrolling {
  readonly id: string;
  readonly keyId: string;
}

/**
 * The credential challenge of an attested enrolment, stateless: the credential secret is an HMAC
 * (server secret) over a nonce carrying its expiry, the device id, its key and both TPM keys' names,
 * encrypted with TPM2_MakeCredential to the EK and bound to the AK's name. Only the TPM holding
 * both keys recovers it; the broker recomputes it when the device sends it back.
 */
export class CredentialChallenges {
  readonly #secret: Uint8Array;
  readonly #ttlMs: number;

  constructor(secret: Uint8Array, ttlMs: number) {
    this.#secret = secret;
    this.#ttlMs = ttlMs;
  }

  #credential(nonce: string, claims: EnrolmentClaims, device: Enrolling): Buffer {
    const fields = [
      'ovseal-broker/v1 activation',
      nonce,
      device.id,
      device.keyId,
      claims.ak.name.toString('hex'),
      claims.ek.name.toString('hex'),
    ];
    return createHmac('sha256', this.#secret).update(fields.join('\n')).digest();
  }

  issue(claims: EnrolmentClaims, device: Enrolling, pcrs: string, now: number): ActivationChallenge {
    const { nonce, expiresAt } = newNonce(now, this.#ttlMs);
    const credential = this.#credential(nonce, claims, device);
    try {
      const { idObject, encryptedSecret } = makeCredential(claims.ek, claims.ak.name, credential);
      return {
        deviceId: device.id,
        nonce,
        expiresAt: new Date(expiresAt).toISOString(),
        idObject: idObject.toString('base64'),
        encryptedSecret: encryptedSecret.toString('base64'),
        pcrs,
      };
    } finally {
      credential.fill(0);
    }
  }

  /** Checks the secret the device recovered; throws `activation_expired` or `activation_failed`. */
  verify(claims: EnrolmentClaims, device: Enrolling, now: number): void {
    const activation = claims.activation!;
    const expiresAt = nonceExpiry(activation.nonce);
    if (expiresAt === undefined) throw new HttpError(400, 'bad_attestation', 'malformed activation nonce');
    if (now > expiresAt) throw new HttpError(403, 'activation_expired', 'the credential challenge expired: start the enrolment again');
    const expected = this.#credential(activation.nonce, claims, device);
    const matches = activation.secret.length === expected.length && timingSafeEqual(activation.secret, expected);
    expected.fill(0);
    if (!matches)
      throw new HttpError(
        403,
        'activation_failed',
        "the credential was not activated: the attestation key is not proven to be in the endorsement key's TPM",
      );
  }
}
