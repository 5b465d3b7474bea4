import { X509Certificate } from 'node:crypto';

/** Every certificate of PEM bundles (or DER bytes). */
export function certificatesOf(sources: readonly (string | Uint8Array | X509Certificate)[]): X509Certificate[] {
  const certificates: X509Certificate[] = [];
  for (const source of sources) {
    if (source instanceof X509Certificate) certificates.push(source);
    else if (typeof source !== 'string') certificates.push(new X509Certificate(Buffer.from(source)));
    else
      for (const block of source.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [])
        certificates.push(new X509Certificate(block));
  }
  return certificates;
}
