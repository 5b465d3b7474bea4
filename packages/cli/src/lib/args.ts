import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from './output.js';

type Options = NonNullable<ParseArgsConfig['options']>;

type ValueOf<O> = O extends { type: 'boolean' } ? boolean : string;
type Values<T extends Options> = {
  [K in keyof T]?: T[K] extends { multiple: true } ? ValueOf<T[K]>[] : ValueOf<T[K]>;
} & { json?: boolean; help?: boolean };

/** Strict parsing: an unknown flag is a usage error, not silently ignored. */
export function parse<const T extends Options>(argv: string[], options: T): { values: Values<T>; positionals: string[] } {
  try {
    return parseArgs({
      args: argv,
      options: { ...options, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    throw new UsageError((error as Error).message.replace(/^TypeError \[[A-Z_]+\]: /, ''));
  }
}

export function requireOne(value: string | undefined, flag: string, example: string): string {
  if (!value) throw new UsageError(`missing ${flag}`, example);
  return value;
}

export function list(value: string | string[] | boolean | undefined): string[] {
  if (value === undefined || typeof value === 'boolean') return [];
  return Array.isArray(value) ? value : [value];
}

/** Sizes like 1048576, 1M, 256K. */
export function parseSize(text: string): number {
  const match = /^(\d+)([KMG]?)i?B?$/i.exec(text.trim());
  if (!match) throw new UsageError(`bad size ${JSON.stringify(text)}`, 'write it as bytes or with K/M/G, e.g. 1M');
  const unit = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 }[match[2]!.toUpperCase() as '' | 'K' | 'M' | 'G'];
  return Number(match[1]) * unit;
}

export function parseDate(text: string, flag: string): Date {
  const date = new Date(text);
  if (Number.isNaN(date.getTime()))
    throw new UsageError(`${flag}: bad date ${JSON.stringify(text)}`, 'use ISO 8601, e.g. 2027-01-31 or 2027-01-31T12:00:00Z');
  return date;
}
