/**
 * The stanza type KMS recipients write: args `[keyArn]` (the key ARN KMS reported at Encrypt),
 * body = the KMS `CiphertextBlob` of the data key.
 *
 * @example
 * ```ts
 * const kmsStanzas = info.recipients.filter((r) => r.type === KMS_STANZA_TYPE);
 * ```
 */
export const KMS_STANZA_TYPE = 'aws-kms';
