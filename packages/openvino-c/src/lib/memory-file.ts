import { closeSync, fstatSync, readSync } from 'node:fs';
import koffi from 'koffi';
import { OpenVinoArgumentError } from '../errors.js';

const MFD_CLOEXEC = 1;

let memfdCreate: ((name: string, flags: number) => number) | undefined;

/**
 * Runs `write(path)` against an anonymous memory file (`memfd_create`: RAM only, no name in any
 * file system, gone when closed) and returns what was written. OpenVINO's C API exports a compiled
 * model to a path only; `/proc/self/fd/N` gives it one that is not on disk.
 */
export function captureMemoryFile(write: (path: string) => void): Buffer {
  const fd = createMemoryFile('ovseal-openvino-export');
  try {
    write(`/proc/self/fd/${fd}`);
    const size = fstatSync(fd).size;
    const bytes = Buffer.allocUnsafeSlow(size); // its own memory, so the caller can zero it;
    let done = 0;
    while (done < size) {
      const read = readSync(fd, bytes, done, size - done, done);
      if (read === 0) break;
      done += read;
    }
    return done === size ? bytes : bytes.subarray(0, done);
  } finally {
    closeSync(fd);
  }
}

function createMemoryFile(name: string): number {
  if (process.platform !== 'linux') {
    throw new OpenVinoArgumentError('exporting a compiled model to memory needs memfd_create (Linux)');
  }
  memfdCreate ??= koffi.load('libc.so.6').func('int memfd_create(const char *name, unsigned int flags)') as (
    name: string,
    flags: number,
  ) => number;
  const fd = memfdCreate(name, MFD_CLOEXEC);
  if (fd < 0) throw new OpenVinoArgumentError(`memfd_create failed (errno ${koffi.errno()})`);
  return fd;
}
