/** A detected text region, in input pixels. */
export interface TextBox {
  readonly x0: number;
  readonly y0: number;
  readonly x1: number;
  readonly y1: number;
  /** Mean probability inside the region. */
  readonly score: number;
}

/** Options of {@link findTextBoxes} (PP-OCR's DB post-processing defaults). */
export interface FindTextBoxesOptions {
  /** Pixel threshold on the probability map. Default 0.3. */
  readonly threshold?: number;
  /** Minimum mean probability of a region. Default 0.6. */
  readonly boxThreshold?: number;
  /** Growth of the (shrunk) region, as DB's unclip ratio. Default 1.5. */
  readonly unclipRatio?: number;
  /** Smallest side kept, in pixels. Default 3. */
  readonly minSize?: number;
}

/**
 * Turns a text detector's probability map ([1,1,H,W], row-major) into boxes: threshold, connected
 * components (4-neighbour), bounding rectangles grown by the unclip distance (area × ratio /
 * perimeter), as PP-OCR's DB post-processing does with rectangles; overlapping boxes (the words of
 * one line) are joined.
 *
 * @example
 * ```ts
 * const boxes = findTextBoxes(probabilities, width, height);
 * ```
 */
export function findTextBoxes(map: ArrayLike<number>, width: number, height: number, options: FindTextBoxesOptions = {}): TextBox[] {
  const threshold = options.threshold ?? 0.3;
  const boxThreshold = options.boxThreshold ?? 0.6;
  const ratio = options.unclipRatio ?? 1.5;
  const minSize = options.minSize ?? 3;
  const label = new Int32Array(width * height);
  const boxes: TextBox[] = [];
  const stack: number[] = [];
  let next = 0;
  for (let start = 0; start < width * height; start++) {
    if (label[start] !== 0 || map[start]! <= threshold) continue;
    next++;
    let x0 = width,
      y0 = height,
      x1 = -1,
      y1 = -1,
      sum = 0,
      count = 0;
    label[start] = next;
    stack.push(start);
    while (stack.length > 0) {
      const at = stack.pop()!;
      const x = at % width;
      const y = (at - x) / width;
      x0 = Math.min(x0, x);
      x1 = Math.max(x1, x);
      y0 = Math.min(y0, y);
      y1 = Math.max(y1, y);
      sum += map[at]!;
      count++;
      for (const neighbour of [
        x > 0 ? at - 1 : -1,
        x < width - 1 ? at + 1 : -1,
        y > 0 ? at - width : -1,
        y < height - 1 ? at + width : -1,
      ]) {
        if (neighbour >= 0 && label[neighbour] === 0 && map[neighbour]! > threshold) {
          label[neighbour] = next;
          stack.push(neighbour);
        }
      }
    }
    const score = sum / count;
    const w = x1 - x0 + 1;
    const h = y1 - y0 + 1;
    if (score < boxThreshold || Math.min(w, h) < minSize) continue;
    const grow = Math.round((w * h * ratio) / (2 * (w + h)));
    boxes.push({
      x0: Math.max(0, x0 - grow),
      y0: Math.max(0, y0 - grow),
      x1: Math.min(width - 1, x1 + grow),
      y1: Math.min(height - 1, y1 + grow),
      score,
    });
  }
  return mergeOverlapping(boxes).sort((a, b) => a.y0 - b.y0 || a.x0 - b.x0);
}

/** Words of one line come out as separate regions whose grown boxes overlap: join them. */
function mergeOverlapping(boxes: TextBox[]): TextBox[] {
  const out = [...boxes];
  for (let merged = true; merged;) {
    merged = false;
    for (let i = 0; i < out.length && !merged; i++) {
      for (let j = i + 1; j < out.length && !merged; j++) {
        const a = out[i]!;
        const b = out[j]!;
        if (a.x0 > b.x1 || b.x0 > a.x1 || a.y0 > b.y1 || b.y0 > a.y1) continue;
        const areaA = (a.x1 - a.x0 + 1) * (a.y1 - a.y0 + 1);
        const areaB = (b.x1 - b.x0 + 1) * (b.y1 - b.y0 + 1);
        out[i] = {
          x0: Math.min(a.x0, b.x0),
          y0: Math.min(a.y0, b.y0),
          x1: Math.max(a.x1, b.x1),
          y1: Math.max(a.y1, b.y1),
          score: (a.score * areaA + b.score * areaB) / (areaA + areaB),
        };
        out.splice(j, 1);
        merged = true;
      }
    }
  }
  return out;
}
