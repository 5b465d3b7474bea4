// The entry of an installed `ovseal-provider-SCHEME` package (packages/cli/README.md, "Plugins"):
// it exports recipientFromUri and identityFromUri, with @ovseal/container's types.
import { AuthenticationFailedError } from '@ovseal/container';
import { keyIdOf, keyOf, unwrap, wrap } from './xkek-core.mjs';

export function recipientFromUri(uri) {
  const key = keyOf(uri);
  return {
    async wrap(dataKey, context) {
      return [wrap('pkgkek', key, dataKey, context.aad)];
    },
    describes: (stanza) => stanza.type === 'pkgkek' && stanza.args[0] === keyIdOf(key),
  };
}

export function identityFromUri(uri) {
  const key = keyOf(uri);
  return {
    async unwrap(stanzas, context) {
      try {
        return unwrap('pkgkek', key, stanzas, context.aad);
      } catch (error) {
        if (error.authentication) throw new AuthenticationFailedError();
        throw error;
      }
    },
  };
}
