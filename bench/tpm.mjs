#!/usr/bin/env node
// TPM benchmark (`pnpm bench:tpm`): unwrap latency of each @ovseal/key-tpm mode on swtpm — median
// of N unwraps, tpm2-tools process spawns included — next to a bare `tpm2_getrandom` spawned the
// same way in the same run, with the number of tpm2-tools spawns each unwrap costs and the time
// spent inside them.
// Then TPM remote attestation: an attested key release end to end on a swtpm manufactured with an
// EK certificate — challenge, unwrap of its secret, TPM2_Quote, the broker's checks (quote
// signature, nonce, counters, PCR policy) and re-wrap, unwrap of the released stanza — next to the
// same release for a device that does not attest, in the same run; and the broker's quote
// verification alone (verifyQuote, no TPM).
// Floor: every mode's median unwrap <= 250 ms, and the attested release's median <= 250 ms. Exits 1
// if a floor is missed, 2 if swtpm or tpm2-tools are missing (the install line is printed).
//
// Options: --runs N (default 20), --json
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const distFile = (pkg, file = 'index.js') => pathToFileURL(join(root, 'packages', pkg, 'dist', file)).href;
const appFile = (app, file = 'index.js') => pathToFileURL(join(root, 'apps', app, 'dist', file)).href;
const FLOOR_MS = 250;

const args = process.argv.slice(2);
const runs = (() => {
  const index = args.indexOf('--runs');
  return index === -1 ? 20 : Number(args[index + 1]);
})();
const asJson = args.includes('--json');
const log = (...parts) => {
  if (!asJson) console.log(...parts);
};

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

async function main() {
  const container = await import(distFile('container'));
  const tpm = await import(distFile('key-tpm'));
  const { checkSwtpmPrerequisites, startSwtpm } = await import(distFile('key-tpm', 'testing.js'));
  const { Tpm2Tools } = await import(distFile('key-tpm', 'lib/tools.js'));
  const { forgetParents } = await import(distFile('key-tpm', 'lib/parent.js'));

  const prerequisites = checkSwtpmPrerequisites();
  if (!prerequisites.ok) {
    console.error(`bench:tpm: ${prerequisites.message}`);
    process.exit(2);
  }

  // Count tpm2-tools spawns and the time spent in them: every command goes through Tpm2Tools.run.
  let spawns = [];
  let toolMs = 0;
  const run = Tpm2Tools.prototype.run;
  Tpm2Tools.prototype.run = async function (name, ...rest) {
    spawns.push(name);
    const start = performance.now();
    try {
      return await run.call(this, name, ...rest);
    } finally {
      toolMs += performance.now() - start;
    }
  };

  const swtpm = await startSwtpm();
  const work = await mkdtemp(join(tmpdir(), 'ovseal-bench-tpm-'));
  try {
    const tcti = swtpm.tcti;
    log(`ovseal TPM benchmark: swtpm on ${tcti}, median of ${runs}, Node ${process.version}`);
    const ctx = container.createWrapContext({ containerId: randomBytes(16), modelName: 'bench', modelVersion: '1' });
    const dataKey = randomBytes(32);

    log('setting up: storage primary, device keys, sealed stanzas ...');
    await tpm.createStoragePrimary({ tcti, handle: 0x81000001 });
    const ecdh = await tpm.initDeviceKey({ tcti, type: 'tpm-ecdh', handle: 0x81000100 });
    const rsa = await tpm.initDeviceKey({ tcti, type: 'tpm-rsa', handle: 0x81000101 });
    const ecdhPcr = await tpm.initDeviceKey({ tcti, type: 'tpm-ecdh', handle: 0x81000102, pcrs: 'sha256:0,7' });
    const rsaPcr = await tpm.initDeviceKey({ tcti, type: 'tpm-rsa', handle: 0x81000103, pcrs: 'sha256:0,7' });
    const ecdhDir = await tpm.initDeviceKey({ tcti, type: 'tpm-ecdh', keyDir: join(work, 'ecdh-key') });
    const rsaDir = await tpm.initDeviceKey({ tcti, type: 'tpm-rsa', keyDir: join(work, 'rsa-key') });
    const sealPersistent = await new tpm.TpmSealRecipient({ tcti, parent: 0x81000001 }).wrap(dataKey, ctx);
    const sealOwner = await new tpm.TpmSealRecipient({ tcti, parent: 'owner' }).wrap(dataKey, ctx);
    const wrapTo = (info) => tpm.tpmRecipientFromUri(info.recipientUri).wrap(dataKey, ctx);

    const modes = [
      {
        mode: 'tpm-seal, persistent primary 0x81000001',
        identity: new tpm.TpmSealIdentity({ tcti, parent: 0x81000001 }),
        stanzas: sealPersistent,
      },
      { mode: 'tpm-seal, owner-seed primary (context cached)', identity: new tpm.TpmSealIdentity({ tcti }), stanzas: sealOwner },
      {
        mode: 'tpm-seal, owner-seed primary (first in process)',
        identity: new tpm.TpmSealIdentity({ tcti }),
        stanzas: sealOwner,
        before: () => forgetParents(),
      },
      { mode: 'tpm-ecdh, persistent key', identity: await tpm.tpmIdentityFromUri(ecdh.identityUri), stanzas: await wrapTo(ecdh) },
      {
        mode: 'tpm-ecdh, persistent key + PCR policy',
        identity: await tpm.tpmIdentityFromUri(ecdhPcr.identityUri),
        stanzas: await wrapTo(ecdhPcr),
      },
      {
        mode: 'tpm-ecdh, key directory (owner primary)',
        identity: await tpm.tpmIdentityFromUri(ecdhDir.identityUri),
        stanzas: await wrapTo(ecdhDir),
      },
      { mode: 'tpm-rsa, persistent key', identity: await tpm.tpmIdentityFromUri(rsa.identityUri), stanzas: await wrapTo(rsa) },
      {
        mode: 'tpm-rsa, persistent key + PCR policy',
        identity: await tpm.tpmIdentityFromUri(rsaPcr.identityUri),
        stanzas: await wrapTo(rsaPcr),
      },
      {
        mode: 'tpm-rsa, key directory (owner primary)',
        identity: await tpm.tpmIdentityFromUri(rsaDir.identityUri),
        stanzas: await wrapTo(rsaDir),
      },
    ];

    const tools = new Tpm2Tools({ tcti });
    const results = [];
    const measure = async (label, fn, before) => {
      await fn(); // warm-up: page cache, the FIFO, the cached primary
      const times = [];
      const inTools = [];
      let counts = [];
      for (let i = 0; i < runs; i++) {
        before?.();
        spawns = [];
        toolMs = 0;
        const start = performance.now();
        await fn();
        times.push(performance.now() - start);
        inTools.push(toolMs);
        counts = [...spawns];
      }
      return {
        label,
        medianMs: median(times),
        minMs: Math.min(...times),
        maxMs: Math.max(...times),
        inToolsMedianMs: median(inTools),
        spawns: counts.length,
        commands: counts,
      };
    };

    const baseline = await measure('bare tpm2_getrandom', () => tools.run('getrandom', ['8']));
    for (const { mode, identity, stanzas, before } of modes) {
      const result = await measure(
        mode,
        async () => {
          const key = await identity.unwrap(stanzas, ctx);
          if (!key || !Buffer.from(key).equals(dataKey)) throw new Error(`${mode}: wrong data key`);
        },
        before,
      );
      results.push({ ...result, pass: result.medianMs <= FLOOR_MS });
    }

    const attestation = await benchAttestedRelease({ tpm, container, measure, work });
    results.push(...attestation.results);

    if (asJson) {
      console.log(JSON.stringify({ runs, floorMs: FLOOR_MS, baseline, results, verifyQuote: attestation.verify }, null, 2));
    } else {
      const fmt = (ms) => `${ms.toFixed(1).padStart(7)} ms`;
      log('');
      log(
        `${'mode'.padEnd(50)} ${'median'.padStart(10)} ${'min'.padStart(10)} ${'max'.padStart(10)} ${'in tools'.padStart(10)}  spawns  x getrandom  floor`,
      );
      log(
        `${baseline.label.padEnd(50)} ${fmt(baseline.medianMs)} ${fmt(baseline.minMs)} ${fmt(baseline.maxMs)} ${fmt(baseline.inToolsMedianMs)}  ${String(baseline.spawns).padStart(6)}`,
      );
      for (const r of results) {
        const ratio = (r.medianMs / baseline.medianMs).toFixed(1).padStart(11);
        log(
          `${r.label.padEnd(50)} ${fmt(r.medianMs)} ${fmt(r.minMs)} ${fmt(r.maxMs)} ${fmt(r.inToolsMedianMs)}  ${String(r.spawns).padStart(6)}  ${ratio}  ${r.pass ? 'ok' : `MISSED (> ${FLOOR_MS} ms)`}`,
        );
      }
      log('');
      log("'in tools': median wall time inside tpm2-tools processes (spawn + TPM work); the rest is Node (temp dir, files, crypto).");
      log('');
      log('tpm2-tools commands per unwrap:');
      for (const r of results) log(`  ${r.label}: ${r.commands.join(', ')}`);
      const v = attestation.verify;
      log('');
      log(
        `broker side alone (Node, no TPM): verifyQuote median ${v.verifyUs.toFixed(0)} µs, PCR policy check included ${v.checkUs.toFixed(0)} µs, makeCredential (enrolment) ${v.makeCredentialUs.toFixed(0)} µs — median of ${v.runs}`,
      );
      log(
        `attested release / plain release: ${(attestation.results[1].medianMs / attestation.results[0].medianMs).toFixed(2)}x (the quote's one tpm2_quote spawn, the broker's checks)`,
      );
    }
    if (results.some((r) => !r.pass)) process.exitCode = 1;
  } finally {
    Tpm2Tools.prototype.run = run;
    await swtpm.close();
    await rm(work, { recursive: true, force: true });
  }
}

/**
 * The attested key release, end to end in this process: a broker (in-process, key-file identity,
 * the swtpm's manufacturer CA trusted, a PCR policy captured at enrolment) and the edge runner's
 * BrokerClient with the device key and attestation key in a swtpm that has an EK certificate.
 */
async function benchAttestedRelease({ tpm, container, measure, work }) {
  const { startKeyBroker } = await import(appFile('key-broker'));
  const { quoteQualifyingData, stanzaFromJson } = await import(distFile('broker-protocol'));
  const { BrokerClient } = await import(appFile('edge-runner'));
  const { DeviceAttestation } = await import(appFile('edge-runner', 'lib/device-attestation.js'));
  const { FileIdentity, FileRecipient, generateKey } = await import(distFile('key-file'));
  const { startSwtpm } = await import(distFile('key-tpm', 'testing.js'));
  const manufactured = await startSwtpm({ endorsement: { caDir: join(work, 'ca') } });
  const tcti = manufactured.tcti;
  const kek = generateKey();
  const adminToken = `bench-admin-${randomBytes(12).toString('hex')}`;
  const broker = await startKeyBroker({
    dataDir: join(work, 'broker'),
    adminToken,
    identities: [new FileIdentity(kek)],
    logger: false,
    rateLimit: false,
    deviceRateLimit: false,
    attestation: { ekCaCertificates: [manufactured.endorsementCaPem], pcrs: 'sha256:0,7' },
  });
  try {
    const sealed = await container.sealToBuffer({
      entries: [{ name: 'm.bin', role: 'aux', data: randomBytes(1024) }],
      metadata: { name: 'bench', version: '1' },
      recipients: [new FileRecipient(kek)],
    });
    const api = async (method, path, body) => {
      const response = await fetch(`${broker.url}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${adminToken}`,
          'content-type': body instanceof Uint8Array ? 'application/octet-stream' : 'application/json',
        },
        body: body instanceof Uint8Array ? body : JSON.stringify(body),
      });
      const json = await response.json();
      if (!response.ok) throw new Error(`${path}: ${json.error}: ${json.message}`);
      return json;
    };
    await api('POST', '/v1/admin/models', sealed);
    await api('POST', '/v1/admin/pcr-policies', { label: 'bench', pcrs: 'sha256:0,7', tofu: 'each-device' });
    await api('POST', '/v1/admin/grants', { label: 'bench', model: 'bench', ttlSeconds: 3600, maxReleases: 100000 });
    await api('POST', '/v1/admin/grants', { label: 'bench-plain', model: 'bench', ttlSeconds: 3600, maxReleases: 100000 });

    // Persistent device keys (the fastest mode above): each unwrap is tpm2_ecdhzgen and one flush.
    const device = async (id, attested, handle) => {
      await tpm.initDeviceKey({ tcti, handle });
      const identity = await tpm.TpmEcdhIdentity.open({ handle }, { tcti });
      const config = { akHandle: '0x81000200', ekHandle: '0x81010001', ekCertificateIndex: '0x01c00002' };
      const attestation = attested ? await DeviceAttestation.create(config, tcti) : undefined;
      const client = new BrokerClient({ brokerUrls: [broker.url], deviceId: id, identity, attestation });
      const token = await api('POST', '/v1/admin/enrolment-tokens', {
        labels: [attested ? 'bench' : 'bench-plain'],
        ttlSeconds: 600,
        requireAttestation: attested,
      });
      await client.enrol(token.token, { keyType: 'tpm-ecdh', publicKeyPem: identity.publicKeyPem, attestation });
      return { client, identity, attestation };
    };
    const plain = await device('bench-plain', false, 0x81000100);
    const attested = await device('bench-attested', true, 0x81000101);
    const ctx = container.createWrapContext({
      containerId: Buffer.from((await container.inspect(sealed)).containerId, 'hex'),
      modelName: 'bench',
      modelVersion: '1',
    });
    const release = (dev) => async () => {
      const released = await dev.client.requestKey('bench@1');
      const key = await dev.identity.unwrap([stanzaFromJson(released.stanza)], ctx);
      if (!key || key.length !== 32) throw new Error('the released stanza did not unwrap');
    };
    const results = [];
    for (const [label, dev] of [
      ['key release, plain device (challenge, re-wrap, unwrap)', plain],
      ['key release, attested (+ quote, broker checks)', attested],
    ]) {
      const result = await measure(label, release(dev));
      results.push({ ...result, pass: result.medianMs <= FLOOR_MS });
    }
    return { results, verify: await benchVerify(tpm, attested.attestation, quoteQualifyingData) };
  } finally {
    await broker.close();
    await manufactured.close();
  }
}

/** The broker's checks alone, in Node: verifyQuote, verifyQuote + the PCR comparison, makeCredential. */
async function benchVerify(tpm, attestation, quoteQualifyingData) {
  const nonce = randomBytes(24).toString('base64url');
  const qualifyingData = quoteQualifyingData('release', nonce, 'bench-attested');
  const quote = await attestation.quote('sha256:0,7', qualifyingData);
  const claims = await attestation.enrolmentClaims();
  const ak = tpm.parseAttestationKey(Buffer.from(claims.akPublic, 'base64'));
  const ek = tpm.parseEndorsementKey(Buffer.from(claims.ekPublic, 'base64'));
  const golden = tpm.verifyQuote({ ak, ...quote, qualifyingData }).values;
  const runs = 2000;
  const timeEach = (fn) => {
    const times = [];
    for (let i = 0; i < runs; i++) {
      const start = performance.now();
      fn();
      times.push((performance.now() - start) * 1000);
    }
    return median(times);
  };
  return {
    runs,
    verifyUs: timeEach(() => tpm.verifyQuote({ ak, ...quote, qualifyingData })),
    checkUs: timeEach(() => {
      const verified = tpm.verifyQuote({ ak, ...quote, qualifyingData });
      for (const [index, value] of verified.values) if (!value.equals(golden.get(index))) throw new Error('PCR mismatch');
    }),
    makeCredentialUs: timeEach(() => tpm.makeCredential(ek, ak.name, randomBytes(32))),
  };
}

await main();
