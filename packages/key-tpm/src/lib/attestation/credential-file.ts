import { u32 } from '../bytes.js';
import type { CredentialBlob } from './credential.js';

/** tpm2-tools' credential file (`tpm2_makecredential -o`, `tpm2_activatecredential -i`): magic, version 1, then the two TPM2Bs. */
const MAGIC = 0xbadcc0de;
const VERSION = 1;

export function credentialFile(credential: CredentialBlob): Buffer {
  return Buffer.concat([u32(MAGIC), u32(VERSION), credential.idObject, credential.encryptedSecret]);
}
