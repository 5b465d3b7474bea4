import { inspect as inspectContainer, type ContainerInfo } from '@ovseal/container';
import { parse } from '../lib/args.js';
import { printJson, terminalSafe, UsageError, type Io } from '../lib/output.js';
import { withJournalHint } from '../lib/journal-hint.js';

export const inspectHelp = `Usage: ovseal inspect CONTAINER [--json]

Shows the header without any key: model, entries, recipients, signer. Nothing shown here is
authenticated until the container is opened or verified.`;

/** JSON-friendly view of a header. */
export function describe(info: ContainerInfo) {
  return {
    formatVersion: info.formatVersion,
    containerId: info.containerId,
    model: {
      name: info.metadata.name,
      version: info.metadata.version,
      format: info.metadata.format,
      createdAt: info.metadata.createdAt.toISOString(),
      notAfter: info.metadata.notAfter?.toISOString() ?? null,
    },
    entries: info.entries,
    recipients: info.recipients,
    signature: info.signature ? { algorithm: info.signature.algorithm, keyId: info.signature.keyId } : null,
    segmentSize: info.segmentSize,
    payloadOffset: info.payloadOffset,
    totalSize: info.totalSize,
    payloadDigest: info.payloadDigest,
  };
}

function human(info: ContainerInfo): string {
  const d = describe(info);
  const lines = [
    `container   ${d.containerId} (format v${d.formatVersion}, ${d.totalSize} bytes, segments of ${d.segmentSize})`,
    `model       ${d.model.name} ${d.model.version} (${d.model.format}), sealed ${d.model.createdAt}${d.model.notAfter ? `, not after ${d.model.notAfter}` : ''}`,
    `signature   ${d.signature ? `${d.signature.algorithm} by ${d.signature.keyId}` : 'none'}`,
    'entries',
    ...d.entries.map((e) => `  ${e.role.padEnd(8)} ${String(e.size).padStart(12)}  ${e.name}`),
    'recipients',
    ...d.recipients.map((r) => `  ${r.type}${r.args.length ? ' ' + r.args.join(' ') : ''}`),
  ];
  return lines.join('\n') + '\n';
}

export async function inspect(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(argv, {});
  if (positionals.length !== 1) throw new UsageError('inspect takes one container', 'ovseal inspect model.ovseal');
  const info = await withJournalHint(positionals[0]!, () => inspectContainer(positionals[0]!));
  if (values.json) printJson(io, { ok: true, ...describe(info) });
  else io.stdout.write(human(info).split('\n').map(terminalSafe).join('\n'));
  return 0;
}
