#!/usr/bin/env node
// Writes the project's own tiny OpenVINO IR pair: node test-fixtures/scripts/make-ir.mjs OUT_DIR
import { writeTinyIr } from '../index.mjs';

const out = process.argv[2];
if (!out) {
  console.error('usage: make-ir.mjs OUT_DIR');
  process.exit(2);
}
console.log(JSON.stringify(writeTinyIr(out, { addend: 1 })));
