import { describe, expect, test } from 'vitest';
import { compareVersions } from '../src/index.js';

describe('compareVersions', () => {
  test.each([
    ['1.0.0', '1.0.1'],
    ['1.9.0', '1.10.0'],
    ['2.0.0-rc.1', '2.0.0'],
    ['2.0.0-alpha', '2.0.0-alpha.1'],
    ['2.0.0-alpha.2', '2.0.0-alpha.10'],
    ['2.0.0-1', '2.0.0-alpha'],
    ['v1.2.3', 'v1.2.4'],
    ['7', '10'],
    ['2024-05-01', '2024-06-01'],
    ['build-9', 'build-10'],
    ['4', '4.1'],
    ['99999999999999999999', '100000000000000000000'],
  ])('%s < %s', (older, newer) => {
    expect(compareVersions(older, newer)).toBe(-1);
    expect(compareVersions(newer, older)).toBe(1);
  });

  test.each([
    ['1.0.0', '1.0.0'],
    ['1.0.0+build.1', '1.0.0+build.2'],
    ['abc', 'abc'],
  ])('%s = %s', (a, b) => {
    expect(compareVersions(a, b)).toBe(0);
  });
});
