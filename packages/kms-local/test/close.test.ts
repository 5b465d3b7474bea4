import { expect, test } from 'vitest';

import { startKmsLocal } from '../src/index.js';

test('`await using` closes the server (close() under the name every ovseal service uses); close is idempotent', async () => {
  let endpoint: string;
  {
    await using kms = await startKmsLocal();
    endpoint = kms.endpoint;
    expect((await fetch(`${endpoint}/__kms-local/health`)).ok).toBe(true);
  }
  await expect(fetch(`${endpoint}/__kms-local/health`)).rejects.toThrow();
  const again = await startKmsLocal();
  await again.close();
  await again.close();
});
