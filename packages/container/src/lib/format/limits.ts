/**
 * Parse limits (docs/FORMAT.md §7). Each is checked before anything is allocated for the value it
 * bounds, so a hostile header cannot make a reader exhaust memory.
 */
export const LIMITS = Object.freeze({
  /** Whole header, preamble to MAC. */
  maxHeaderLength: 1024 * 1024,
  /** Header area (header + zero padding) before the payload. */
  maxPayloadOffset: 16 * 1024 * 1024,
  maxRecipients: 64,
  maxEntries: 1024,
  minSegmentSize: 4 * 1024,
  maxSegmentSize: 16 * 1024 * 1024,
  maxStanzaTypeLength: 64,
  maxStanzaArgs: 8,
  maxStanzaArgLength: 1024,
  maxStanzaBodyLength: 64 * 1024,
  maxEntryNameLength: 1024,
  maxModelNameLength: 256,
  maxModelVersionLength: 128,
  /** Entry sizes stay exact as JavaScript numbers. */
  maxEntrySize: Number.MAX_SAFE_INTEGER,
});

/**
 * Default segment size: 1 MiB. Measured by `pnpm bench` (segment sweep): at 64 KiB the per-segment
 * cipher setup costs ~10 % of open throughput, from 1 MiB up throughput is flat, and larger
 * segments only coarsen random access and raise per-worker memory.
 */
export const DEFAULT_SEGMENT_SIZE = 1024 * 1024;

/** GCM tag length appended to every segment. */
export const TAG_LENGTH = 16;

/** Slack reserved after the header so a rewrap can add recipients in place. */
export const HEADER_RESERVE = 4096;

/** The header area is padded to a multiple of this (page-aligned payload). */
export const HEADER_ALIGN = 4096;
