import { randomUUID } from 'node:crypto';
import { parsePcrSelection } from '@ovseal/key-tpm';
import { quoteQualifyingData } from '@ovseal/broker-protocol';
import type {
  AttestedEnrolment,
  AuditInput,
  DeviceAttestationRecord,
  DeviceRecord,
  EnrolmentRefusal,
  PcrPolicyRecord,
  QuoteRecord,
} from '../../store.js';
import type { BrokerCore } from '../broker-core.js';
import { ENROLMENT_STATUS } from '../enrolment.js';
import { HttpError, sendJson } from '../http.js';
import type { RequestContext } from '../router.js';
import { deviceView } from '../views.js';
import { parseEnrolmentClaims, verifyEndorsement, type EnrolmentClaims, type Endorsement } from './enrolment-claims.js';
import { restrictTo, selectionFor } from './pcr-values.js';
import { checkQuote, quoteRecordOf } from './quote-check.js';

function enrolmentRefusal(reason: EnrolmentRefusal): HttpError {
  return new HttpError(ENROLMENT_STATUS[reason], reason, `enrolment refused: ${reason.replaceAll('_', ' ')}`);
}

/** Trust on first use: the enrolment quote's values for each policy that captures them. */
function tofuCaptures(
  policies: readonly PcrPolicyRecord[],
  deviceId: string,
  quote: QuoteRecord,
  ctx: RequestContext,
): AttestedEnrolment['captures'] {
  return policies
    .filter((policy) => policy.tofu !== 'off')
    .map((policy) => ({
      values: {
        id: `v-${randomUUID()}`,
        policyId: policy.id,
        deviceId: policy.tofu === 'each-device' ? deviceId : null,
        values: restrictTo(quote.values, parsePcrSelection(policy.pcrs)),
        source: 'tofu' as const,
        note: `captured from the enrolment quote of ${deviceId}`,
        addedAt: ctx.now,
        removedAt: null,
      },
      audit: {
        at: ctx.now,
        actor: 'enrolment',
        action: 'capture_pcr_values',
        outcome: 'ok' as const,
        deviceId,
        reason: `trust on first use: ${policy.id} ${policy.pcrs} (${policy.tofu})`,
        remote: ctx.remote,
      },
    }));
}

function attestationRecord(
  device: DeviceRecord,
  claims: EnrolmentClaims,
  endorsement: Endorsement,
  quote: QuoteRecord,
  now: number,
): DeviceAttestationRecord {
  return {
    deviceId: device.id,
    ekPublic: claims.ek.publicArea,
    ekName: claims.ek.name.toString('hex'),
    ekCertificate: claims.ekCertificate,
    ekVerification: endorsement.verification,
    ekIssuer: endorsement.issuer,
    akPublic: claims.ak.publicArea,
    akName: claims.ak.name.toString('hex'),
    enrolledAt: now,
    counters: { resetCount: quote.resetCount, restartCount: quote.restartCount },
    lastQuote: quote,
    lastRefused: null,
  };
}

/**
 * `POST /v1/enrol` with `attestation`. First request: the token, the EK (and its certificate) and
 * the AK are checked, and a credential challenge is answered (202). Second request: the activated
 * secret proves the AK is in the EK's TPM, the quote (for the challenge's nonce) gives the PCR
 * values; the device is enrolled with its attestation record, and policies that trust on first use
 * capture its values — in one transaction. Refusals throw (the caller audits them).
 */
export async function enrolAttested(
  core: BrokerCore,
  ctx: RequestContext,
  tokenHash: string,
  device: DeviceRecord,
  attestation: Record<string, unknown>,
  audit: AuditInput,
): Promise<void> {
  const settings = core.attestation;
  const claims = parseEnrolmentClaims(attestation);
  const peeked = await core.store.peekEnrolment(tokenHash, device, ctx.now);
  if (!peeked.ok) throw enrolmentRefusal(peeked.reason);
  const endorsement = verifyEndorsement(claims, peeked.token, settings.ekCaCertificates, ctx.now);
  const policies = await core.store.pcrPoliciesForDevice({ id: device.id, labels: peeked.token.labels });
  const pcrs = selectionFor(settings.defaultPcrs, policies);
  if (!claims.activation) {
    await core.store.appendAudit({ ...audit, action: 'enrol_challenge', reason: `credential challenge (${endorsement.description})` });
    sendJson(ctx.res, 202, settings.credentials.issue(claims, device, pcrs, ctx.now));
    return;
  }
  settings.credentials.verify(claims, device, ctx.now);
  const qualifyingData = quoteQualifyingData('enrol', claims.activation.nonce, device.id);
  const quote = quoteRecordOf(checkQuote(claims.ak.publicArea, claims.quote, qualifyingData, pcrs), ctx.now);
  const attested: AttestedEnrolment = {
    attestation: attestationRecord(device, claims, endorsement, quote, ctx.now),
    captures: tofuCaptures(policies, device.id, quote, ctx),
  };
  const outcome = await core.store.enrolDevice(
    tokenHash,
    device,
    ctx.now,
    { ...audit, reason: `attested (${endorsement.description})` },
    attested,
  );
  if (!outcome.ok) throw enrolmentRefusal(outcome.reason);
  sendJson(ctx.res, 201, deviceView(outcome.device));
}
