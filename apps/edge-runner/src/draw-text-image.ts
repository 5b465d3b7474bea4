import { glyph, GLYPH_HEIGHT, GLYPH_WIDTH } from './lib/block-font.js';

/** A line of text to draw. */
export interface TextLine {
  readonly text: string;
  /** Top-left corner, in pixels. */
  readonly x: number;
  readonly y: number;
  /** Pixels per font cell (a glyph is 5×7 cells). Default 3. */
  readonly scale?: number;
}

/** A drawn image, ready for a PP-OCR detector, and where the text really is. */
export interface TextImage {
  readonly width: number;
  readonly height: number;
  /** NCHW float32 [1, 3, height, width], normalised like PP-OCR (ImageNet mean and std). */
  readonly data: Float32Array;
  readonly dims: readonly [1, 3, number, number];
  /** Grey levels 0–255, row-major (for printing). */
  readonly gray: Uint8Array;
  /** The bounding box of each line's ink: the ground truth for detected boxes. */
  readonly lines: readonly { readonly text: string; readonly x0: number; readonly y0: number; readonly x1: number; readonly y1: number }[];
}

const MEAN = [0.485, 0.456, 0.406] as const;
const STD = [0.229, 0.224, 0.225] as const;

/**
 * Draws block letters (dark strokes on white) into a PP-OCR detector input — no image library.
 * Width and height are rounded up to multiples of 32, as the detector needs.
 *
 * @example
 * ```ts
 * const image = drawTextImage(320, 128, [{ text: 'OVSEAL', x: 16, y: 16 }, { text: 'EDGE DEMO', x: 16, y: 72 }]);
 * await fetch(runner + '/v1/infer', { method: 'POST', body: JSON.stringify({ inputs: { x: { type: 'float32', dims: image.dims, base64: … } } }) });
 * ```
 */
export function drawTextImage(width: number, height: number, lines: readonly TextLine[]): TextImage {
  const w = Math.ceil(width / 32) * 32;
  const h = Math.ceil(height / 32) * 32;
  const gray = new Uint8Array(w * h).fill(255);
  const boxes: { text: string; x0: number; y0: number; x1: number; y1: number }[] = [];
  for (const line of lines) {
    const scale = line.scale ?? 3;
    let x = line.x;
    let x1 = line.x;
    for (const char of line.text) {
      const rows = glyph(char);
      for (let r = 0; r < GLYPH_HEIGHT; r++) {
        for (let c = 0; c < GLYPH_WIDTH; c++) {
          if (rows[r]![c] !== '1') continue;
          for (let dy = 0; dy < scale; dy++) {
            for (let dx = 0; dx < scale; dx++) {
              const px = x + c * scale + dx;
              const py = line.y + r * scale + dy;
              if (px < w && py < h) gray[py * w + px] = 24;
            }
          }
          x1 = Math.max(x1, x + (c + 1) * scale - 1);
        }
      }
      x += (GLYPH_WIDTH + 1) * scale;
    }
    boxes.push({ text: line.text, x0: line.x, y0: line.y, x1, y1: line.y + GLYPH_HEIGHT * scale - 1 });
  }
  const plane = w * h;
  const data = new Float32Array(3 * plane);
  for (let channel = 0; channel < 3; channel++) {
    for (let i = 0; i < plane; i++) data[channel * plane + i] = (gray[i]! / 255 - MEAN[channel]!) / STD[channel]!;
  }
  return { width: w, height: h, data, dims: [1, 3, h, w], gray, lines: boxes };
}
