import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  generateSigningKey,
  seal,
  type Recipient,
  type SealEntryInput,
  type SealMetadataInput,
  type SigningKeyPair,
} from '@ovseal/container';
import { FileIdentity, FileRecipient, generateKey, writeKeyFile } from '@ovseal/key-file';
import { tinyIrModel } from './tiny-ir-model.js';

/** Options of {@link sealedFixture}; every field has a default. */
export interface SealedFixtureOptions {
  /** What to seal (default: {@link tinyIrModel}'s model.xml + model.bin). */
  readonly entries?: readonly SealEntryInput[];
  /** Default `{ name: 'fixture', version: '1.0.0' }`. */
  readonly metadata?: SealMetadataInput;
  /** Extra recipients, besides the fixture's own key file. */
  readonly recipients?: readonly Recipient[];
  /** Sign with a fresh Ed25519 publisher key (default true). */
  readonly sign?: boolean;
  /** Where to write (default: a new temporary directory, removed by `cleanup()`). */
  readonly dir?: string;
}

/** A sealed container on disk and the keys that open and trust it. */
export interface SealedFixture {
  readonly dir: string;
  /** The `.ovseal` file. */
  readonly path: string;
  /** The fixture's own key file (mode 0600): `keyUri` for the CLI, `identity` in process. */
  readonly keyPath: string;
  readonly keyUri: string;
  readonly identity: FileIdentity;
  readonly recipient: FileRecipient;
  /** The publisher key pair, when signed: trust `publisher.publicKeyPem`. */
  readonly publisher: SigningKeyPair | undefined;
  /** Removes the temporary directory (not a `dir` you passed). */
  cleanup(): Promise<void>;
}

/**
 * Seals a small model to a fresh key file (and any recipients you add), signed by a fresh publisher
 * key: a real container for a team's integration tests, in one call.
 *
 * @example
 * ```ts
 * const fixture = await sealedFixture();
 * const model = await open(fixture.path, { identities: [fixture.identity], trust: { publicKeys: [fixture.publisher!.publicKeyPem] } });
 * model.dispose();
 * await fixture.cleanup();
 * ```
 */
export async function sealedFixture(options: SealedFixtureOptions = {}): Promise<SealedFixture> {
  const owned = options.dir === undefined;
  const dir = options.dir ?? (await mkdtemp(join(tmpdir(), 'ovseal-fixture-')));
  try {
    const key = generateKey();
    const keyPath = join(dir, 'fixture.key');
    await writeKeyFile(keyPath, key);
    const recipient = new FileRecipient(key);
    const publisher = options.sign === false ? undefined : generateSigningKey();
    const model = tinyIrModel();
    const path = join(dir, 'fixture.ovseal');
    await seal({
      output: path,
      entries: options.entries ?? [
        { name: 'model.xml', role: 'xml', data: new TextEncoder().encode(model.xml) },
        { name: 'model.bin', role: 'weights', data: model.weights },
      ],
      metadata: options.metadata ?? { name: 'fixture', version: '1.0.0' },
      recipients: [recipient, ...(options.recipients ?? [])],
      ...(publisher ? { signer: publisher.privateKeyPem } : {}),
    });
    return {
      dir,
      path,
      keyPath,
      keyUri: `file:${keyPath}`,
      identity: new FileIdentity(key),
      recipient,
      publisher,
      cleanup: async () => {
        if (owned) await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    if (owned) await rm(dir, { recursive: true, force: true });
    throw error;
  }
}
