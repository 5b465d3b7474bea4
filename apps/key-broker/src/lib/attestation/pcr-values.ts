import { formatPcrSelection, parsePcrSelection, type PcrSelection } from '@ovseal/key-tpm';
import type { PcrMismatch } from '@ovseal/broker-protocol';
import type { PcrPolicyRecord } from '../../store.js';

/** PCR values as kept and shown: index → lowercase hex. */
export type PcrValueMap = Readonly<Record<string, string>>;

/** The selection a device quotes: the broker's default PCRs and every PCR its policies check (one bank). */
export function selectionFor(defaultPcrs: string, policies: readonly PcrPolicyRecord[]): string {
  const base = parsePcrSelection(defaultPcrs);
  const indices = new Set(base.indices);
  for (const policy of policies) for (const index of parsePcrSelection(policy.pcrs).indices) indices.add(index);
  return formatPcrSelection({ bank: base.bank, indices: [...indices].sort((a, b) => a - b) });
}

export function valueMapOf(values: ReadonlyMap<number, Buffer>): Record<string, string> {
  return Object.fromEntries([...values].map(([index, value]) => [String(index), value.toString('hex')]));
}

/** The values of `selection` only (a policy's share of a wider quote). */
export function restrictTo(values: PcrValueMap, selection: PcrSelection): Record<string, string> {
  return Object.fromEntries(selection.indices.map((index) => [String(index), values[String(index)] ?? '']));
}

function differing(selection: PcrSelection, allowed: PcrValueMap, values: PcrValueMap): number[] {
  return selection.indices.filter((index) => allowed[String(index)] !== values[String(index)]);
}

/** The PCRs of `policy` that differ from its closest allowed value set (all of them when it allows none). */
function mismatchOf(policy: PcrPolicyRecord, values: PcrValueMap): number[] {
  const selection = parsePcrSelection(policy.pcrs);
  const candidates = policy.values.map((allowed) => differing(selection, allowed.values, values));
  if (candidates.some((differs) => differs.length === 0)) return [];
  return candidates.reduce((closest, differs) => (differs.length < closest.length ? differs : closest), [...selection.indices]);
}

/**
 * Checks quoted PCR values against every policy that applies: each must allow them (equal to one of
 * its value sets). The policies whose PCRs differ, and which PCRs.
 */
export function mismatchesOf(policies: readonly PcrPolicyRecord[], values: PcrValueMap): PcrMismatch[] {
  const mismatches: PcrMismatch[] = [];
  for (const policy of policies) {
    const differs = mismatchOf(policy, values);
    if (differs.length > 0)
      mismatches.push({ policy: policy.id, pcrs: formatPcrSelection({ bank: parsePcrSelection(policy.pcrs).bank, indices: differs }) });
  }
  return mismatches;
}

/** A checked value set for a policy: exactly its PCRs, each a digest of its bank (hex). */
export function checkValueSet(selection: PcrSelection, values: unknown, digestBytes: number): Record<string, string> | string {
  if (values === null || typeof values !== 'object' || Array.isArray(values)) return 'a value set maps PCR indices to hex digests';
  const entries = Object.entries(values as Record<string, unknown>);
  const wanted = selection.indices.map(String);
  if (entries.length !== wanted.length || !wanted.every((index) => index in values))
    return `a value set has exactly the PCRs ${formatPcrSelection(selection)}`;
  const pattern = new RegExp(`^[0-9a-fA-F]{${digestBytes * 2}}$`);
  if (!entries.every(([, value]) => typeof value === 'string' && pattern.test(value)))
    return `each value is ${digestBytes * 2} hex digits (a ${selection.bank} digest)`;
  return Object.fromEntries(entries.map(([index, value]) => [index, (value as string).toLowerCase()]));
}
