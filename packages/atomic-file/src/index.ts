export { writeFileAtomic } from './write-file-atomic.js';
export { withAtomicFile } from './with-atomic-file.js';
export type { AtomicFileOptions } from './with-atomic-file.js';
export { renameDurably } from './rename-durably.js';
export { syncDirectory } from './sync-directory.js';
export { temporaryPathFor } from './temporary-path-for.js';
