import { AttestationKey, initAttestationKey, readEndorsementKey, type TpmQuote } from '@ovseal/key-tpm';
import type { ActivationChallenge, EnrolAttestation } from '@ovseal/broker-protocol';
import type { AttestationConfig } from '../load-runner-config.js';

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');

/**
 * The device's side of TPM remote attestation, through `@ovseal/key-tpm` (tpm2-tools): its
 * endorsement key and certificate for enrolment, the credential challenge, and quotes.
 */
export class DeviceAttestation {
  readonly #key: AttestationKey;
  readonly #config: AttestationConfig;
  readonly #tcti: string | undefined;

  private constructor(key: AttestationKey, config: AttestationConfig, tcti: string | undefined) {
    this.#key = key;
    this.#config = config;
    this.#tcti = tcti;
  }

  static async open(config: AttestationConfig, tcti: string | undefined): Promise<DeviceAttestation> {
    return new DeviceAttestation(await AttestationKey.open(config.akHandle, tcti ? { tcti } : {}), config, tcti);
  }

  /** Creates the attestation key (and makes the EK persistent when it is missing). */
  static async create(config: AttestationConfig, tcti: string | undefined): Promise<DeviceAttestation> {
    const options = tcti ? { tcti } : {};
    return new DeviceAttestation(
      await initAttestationKey({ ...options, handle: config.akHandle, ekHandle: config.ekHandle }),
      config,
      tcti,
    );
  }

  /** Hex name of the attestation key. */
  get akName(): string {
    return this.#key.name.toString('hex');
  }

  /** The first request's `attestation`: the EK (and its certificate, when the TPM has one) and the AK. */
  async enrolmentClaims(): Promise<EnrolAttestation> {
    const ek = await readEndorsementKey({
      ...(this.#tcti ? { tcti: this.#tcti } : {}),
      handle: this.#config.ekHandle,
      certificateIndex: Number.parseInt(this.#config.ekCertificateIndex, 16),
    });
    return {
      ekPublic: b64(ek.publicArea),
      ...(ek.certificate ? { ekCertificate: b64(ek.certificate) } : {}),
      akPublic: b64(this.#key.publicArea),
    };
  }

  /** TPM2_ActivateCredential on the broker's challenge: the secret that proves both keys are in this TPM. */
  activate(challenge: ActivationChallenge): Promise<Buffer> {
    return this.#key.activateCredential(
      { idObject: Buffer.from(challenge.idObject, 'base64'), encryptedSecret: Buffer.from(challenge.encryptedSecret, 'base64') },
      this.#config.ekHandle,
    );
  }

  quote(pcrs: string, qualifyingData: Uint8Array): Promise<TpmQuote> {
    return this.#key.quote(pcrs, qualifyingData);
  }
}
