#!/usr/bin/env node
// An `ovseal-plugin-SCHEME` executable (packages/cli/README.md, "Plugins"): `wrap` or `unwrap`,
// one JSON document on stdin, one on stdout.
import { keyOf, unwrap, wrap } from './xkek-core.mjs';

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const request = JSON.parse(Buffer.concat(chunks).toString('utf8'));
const answer = (value, status = 0) => {
  process.stdout.write(JSON.stringify(value));
  process.exitCode = status;
};
const aad = Buffer.from(request.context.aad, 'base64');
try {
  if (request.version !== 1) throw new Error(`protocol version ${request.version} is not 1`);
  const key = keyOf(request.uri);
  if (process.argv[2] === 'wrap') {
    const stanza = wrap('xkek', key, Buffer.from(request.dataKey, 'base64'), aad);
    answer({ stanzas: [{ ...stanza, body: stanza.body.toString('base64') }] });
  } else if (process.argv[2] === 'unwrap') {
    const stanzas = request.stanzas.map((s) => ({ ...s, body: Buffer.from(s.body, 'base64') }));
    const dataKey = unwrap('xkek', key, stanzas, aad);
    answer({ dataKey: dataKey === null ? null : dataKey.toString('base64') });
  } else {
    answer({ error: { code: 'ERR_USAGE', message: `unknown command ${process.argv[2]}` } }, 2);
  }
} catch (error) {
  answer({ error: { code: error.authentication ? 'ERR_AUTHENTICATION_FAILED' : (error.code ?? 'ERR_XKEK'), message: error.message } }, 1);
}
