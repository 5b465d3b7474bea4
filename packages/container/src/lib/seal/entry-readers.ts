import { statSync } from 'node:fs';
import { open as openFile, type FileHandle } from 'node:fs/promises';
import { InvalidArgumentError, IoError } from '../../errors.js';
import { raceAbort } from '../util/abort.js';
import type { SealEntryInput } from './seal-into.js';

/** Reads an entry front to back into buffers; a fill shorter than its buffer means the entry ended. */
export interface EntryReader {
  fill(into: Uint8Array): Promise<number>;
  close(): Promise<void>;
}

function bytesEntryReader(data: Uint8Array): EntryReader {
  let offset = 0;
  return {
    async fill(into) {
      const n = Math.min(into.length, data.length - offset);
      into.set(data.subarray(offset, offset + n));
      offset += n;
      return n;
    },
    async close() {},
  };
}

function streamEntryReader(name: string, stream: AsyncIterable<Uint8Array>, signal: AbortSignal | undefined): EntryReader {
  const iterator = stream[Symbol.asyncIterator]();
  let pending: Uint8Array = new Uint8Array(0);
  let ended = false;
  return {
    async fill(into) {
      let filled = 0;
      while (filled < into.length) {
        if (pending.length === 0) {
          if (ended) break;
          const next = await raceAbort(iterator.next(), signal);
          if (next.done) {
            ended = true;
            break;
          }
          const chunk: unknown = next.value;
          // A stream with an encoding set yields strings: sealing them re-encoded would corrupt the
          // model, and the result would still authenticate.
          if (!(chunk instanceof Uint8Array)) {
            throw new InvalidArgumentError(
              `entry ${name}: a stream must yield bytes (Uint8Array or Buffer), not ${typeof chunk === 'string' ? 'text' : typeof chunk}`,
              {
                hint: 'do not set an encoding on the stream (no setEncoding, no encoding option)',
              },
            );
          }
          pending = chunk;
          continue;
        }
        const n = Math.min(into.length - filled, pending.length);
        into.set(pending.subarray(0, n), filled);
        pending = pending.subarray(n);
        filled += n;
      }
      return filled;
    },
    async close() {
      // Not awaited: a generator still waiting inside its `next()` would only return after it.
      if (!ended) Promise.resolve(iterator.return?.()).catch(() => undefined);
    },
  };
}

/** Reads a file straight into the task buffers (no intermediate chunks). */
function fileEntryReader(path: string): EntryReader {
  let handle: FileHandle | undefined;
  return {
    async fill(into) {
      handle ??= await openFile(path, 'r');
      let filled = 0;
      while (filled < into.length) {
        const { bytesRead } = await handle.read(into, filled, into.length - filled, null);
        if (bytesRead === 0) break;
        filled += bytesRead;
      }
      return filled;
    },
    async close() {
      await handle?.close();
    },
  };
}

/** The reader of an entry given as bytes, a stream or a file path (exactly one of them). */
export function entryReader(entry: SealEntryInput, signal: AbortSignal | undefined): EntryReader {
  const given = [entry.path, entry.data, entry.stream].filter((x) => x !== undefined).length;
  if (given !== 1) throw new InvalidArgumentError(`entry ${entry.name}: give exactly one of path, data or stream`);
  if (entry.data) return bytesEntryReader(entry.data);
  if (entry.stream) return streamEntryReader(entry.name, entry.stream, signal);
  return fileEntryReader(entry.path!);
}

/** An entry's size before it is read (given, or its bytes' or file's), or null for a stream. */
export function plannedSize(entry: SealEntryInput): number | null {
  if (entry.size !== undefined) return entry.size;
  if (entry.data) return entry.data.length;
  if (entry.path) {
    try {
      return statSync(entry.path).size;
    } catch (cause) {
      throw new IoError(`cannot read ${entry.path}: ${(cause as Error).message}`, { cause });
    }
  }
  return null;
}
