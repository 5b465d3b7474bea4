import { createRequire } from 'node:module';

/** This package's version, from its package.json (dist/lib/version.js → ../../package.json). */
export const CLI_VERSION: string = (createRequire(import.meta.url)('../../package.json') as { version: string }).version;
