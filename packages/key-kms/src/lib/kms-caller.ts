import { DecryptCommand, DescribeKeyCommand, EncryptCommand, GetPublicKeyCommand, KMSClient, SignCommand } from '@aws-sdk/client-kms';

import type { KmsClientOptions } from '../options.js';
import { toKmsError, unexpectedResponse } from './to-kms-error.js';

const DEFAULTS = { timeoutMs: 10_000, connectTimeoutMs: 3_000, maxAttempts: 3, deadlineMs: 30_000 };

/**
 * The three KMS calls key-kms makes, each bounded by a deadline and with every failure mapped to a
 * typed KmsError. Clients are made once per region (or taken from the caller).
 */
export class KmsCaller {
  private readonly clients = new Map<string, KMSClient>();

  constructor(private readonly options: KmsClientOptions) {}

  async encrypt(keyId: string, region: string | undefined, plaintext: Uint8Array, context: Record<string, string>) {
    const output = await this.call('Encrypt', keyId, region, (client, abortSignal) =>
      client.send(new EncryptCommand({ KeyId: keyId, Plaintext: plaintext, EncryptionContext: context }), { abortSignal }),
    );
    if (!output.CiphertextBlob || !output.KeyId) throw unexpectedResponse('Encrypt', keyId, 'no CiphertextBlob or KeyId');
    return { keyArn: output.KeyId, ciphertext: output.CiphertextBlob };
  }

  async decrypt(keyArn: string, region: string, ciphertext: Uint8Array, context: Record<string, string>): Promise<Uint8Array> {
    const output = await this.call('Decrypt', keyArn, region, (client, abortSignal) =>
      client.send(new DecryptCommand({ KeyId: keyArn, CiphertextBlob: ciphertext, EncryptionContext: context }), { abortSignal }),
    );
    if (!output.Plaintext) throw unexpectedResponse('Decrypt', keyArn, 'no Plaintext');
    // KMS enforces the pinned KeyId itself; checking again costs nothing and guards odd endpoints.
    if (output.KeyId !== keyArn) {
      output.Plaintext.fill(0);
      throw unexpectedResponse('Decrypt', keyArn, `decrypted under ${String(output.KeyId)}`);
    }
    return output.Plaintext;
  }

  /** A signing key's public key (SPKI DER), its ARN and what it signs with. */
  async getPublicKey(keyId: string, region: string | undefined) {
    const output = await this.call('GetPublicKey', keyId, region, (client, abortSignal) =>
      client.send(new GetPublicKeyCommand({ KeyId: keyId }), { abortSignal }),
    );
    if (!output.PublicKey || !output.KeyId) throw unexpectedResponse('GetPublicKey', keyId, 'no PublicKey or KeyId');
    return {
      keyArn: output.KeyId,
      spki: output.PublicKey,
      keySpec: output.KeySpec,
      keyUsage: output.KeyUsage,
      signingAlgorithms: output.SigningAlgorithms ?? [],
    };
  }

  /** An ECDSA_SHA_256 signature (DER, as KMS returns it) of a message, or of its SHA-256 digest. */
  async sign(keyArn: string, region: string, message: Uint8Array, messageType: 'RAW' | 'DIGEST'): Promise<Uint8Array> {
    const output = await this.call('Sign', keyArn, region, (client, abortSignal) =>
      client.send(new SignCommand({ KeyId: keyArn, Message: message, MessageType: messageType, SigningAlgorithm: 'ECDSA_SHA_256' }), {
        abortSignal,
      }),
    );
    if (!output.Signature) throw unexpectedResponse('Sign', keyArn, 'no Signature');
    if (output.KeyId !== keyArn) throw unexpectedResponse('Sign', keyArn, `signed with ${String(output.KeyId)}`);
    return output.Signature;
  }

  /** The key ARN an alias (or any key id) points to, in a region. */
  async describeKeyArn(keyId: string, region: string | undefined): Promise<string> {
    const output = await this.call('DescribeKey', keyId, region, (client, abortSignal) =>
      client.send(new DescribeKeyCommand({ KeyId: keyId }), { abortSignal }),
    );
    const arn = output.KeyMetadata?.Arn;
    if (!arn) throw unexpectedResponse('DescribeKey', keyId, 'no KeyMetadata.Arn');
    return arn;
  }

  private async call<T>(
    operation: string,
    keyId: string,
    region: string | undefined,
    send: (client: KMSClient, abortSignal: AbortSignal) => Promise<T>,
  ): Promise<T> {
    const deadline = AbortSignal.timeout(this.options.deadlineMs ?? DEFAULTS.deadlineMs);
    try {
      return await send(this.clientFor(region), deadline);
    } catch (error) {
      throw toKmsError(error, operation, keyId);
    }
  }

  private clientFor(region: string | undefined): KMSClient {
    const { client } = this.options;
    if (typeof client === 'function') return client(region);
    if (client) return client;
    const effectiveRegion = region ?? this.options.region;
    const cacheKey = effectiveRegion ?? '';
    let made = this.clients.get(cacheKey);
    if (!made) {
      made = new KMSClient({
        ...(effectiveRegion === undefined ? {} : { region: effectiveRegion }),
        ...(this.options.endpoint === undefined ? {} : { endpoint: this.options.endpoint }),
        ...(this.options.credentials === undefined ? {} : { credentials: this.options.credentials }),
        maxAttempts: this.options.maxAttempts ?? DEFAULTS.maxAttempts,
        requestHandler: {
          connectionTimeout: this.options.connectTimeoutMs ?? DEFAULTS.connectTimeoutMs,
          requestTimeout: this.options.timeoutMs ?? DEFAULTS.timeoutMs,
          throwOnRequestTimeout: true,
        },
      });
      this.clients.set(cacheKey, made);
    }
    return made;
  }

  /** Closes the clients this caller made (not a caller's own client). */
  close(): void {
    for (const client of this.clients.values()) client.destroy();
    this.clients.clear();
  }
}
