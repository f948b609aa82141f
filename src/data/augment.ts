/**
 * Image augmentations for contrastive learning on grayscale digits.
 *
 * SimCLR (chapter section 7.4) turns one unlabeled image x into a positive pair
 *
 *   x_i = Aug(x),   x_j = Aug(x)        (two independent random draws of the same pipeline)
 *
 * and asks the encoder to map both to nearby embeddings while pushing other images away. What the
 * model becomes invariant to is exactly what Aug changes, so the augmentations must change
 * "style" (position, scale, stroke darkness, sharpness, sensor noise) and keep "content" (which
 * digit it is). The chapter's list, adapted to 28×28 grayscale digits:
 *
 *   chapter (RGB photos)              here (grayscale digits)
 *   random crop (up to 85%)           random resized crop, area scale 0.5–1, aspect 3/4–4/3
 *   (extreme rotation: avoid)         small rotation, ±15° (a 90° turn changes 6↔9 and 7↔L)
 *   color jitter                      brightness and contrast jitter (no saturation / hue)
 *   random grayscale                  — (already grayscale)
 *   gaussian blur                     gaussian blur, sigma 0.1–1.0 px, with probability 0.5
 *   gaussian noise                    additive gaussian noise, std 0.05, with probability 0.5
 *   (horizontal flip, in SimCLR)      — not used: a mirrored 2 or 5 is not a 2 or 5
 *
 * Conventions used by every transform in this file:
 *   - an image is a square (side·side,) Float32Array, row-major, values in [0, 1];
 *   - `apply(input, output, generator)` writes into `output` and never modifies `input`; the two
 *     must not overlap. All randomness comes from `generator`, so a seed fixes the result;
 *   - outputs are clamped to [0, 1];
 *   - transforms allocate their scratch buffers once and reuse them (no allocation per image).
 *
 * Deterministic primitives (`resizedCrop`, `rotate`, `adjustBrightness`, `adjustContrast`,
 * `gaussianBlur`, `addNoise`) are exported separately from the random transforms that draw their
 * parameters, so each one can be tested and reused on its own.
 *
 * PyTorch/torchvision equivalents: `T.Compose([T.RandomResizedCrop(28, scale=(0.5, 1)),
 * T.RandomRotation(15), T.RandomApply([T.ColorJitter(0.4, 0.4)], p=0.8),
 * T.RandomApply([T.GaussianBlur(k, sigma=(0.1, 1.0))], p=0.5), AddGaussianNoise(0.05)])`.
 *
 * @module
 */
import { Generator } from "../tensor/random.js";
import { checkOptions, type OptionKeys } from "../tensor/options.js";
import { checkPair, clamp01, imageSide } from "./pixels.js";
export { imageSide };

/** A random image-to-image map. */
export interface Transform {
  /** Short human-readable description, e.g. "rotation(±15°)". */
  readonly name: string;
  /**
   * Write a transformed copy of `input` into `output` (both (side·side,), non-overlapping),
   * drawing any random parameters from `generator`.
   */
  apply(input: Float32Array, output: Float32Array, generator: Generator): void;
}

/** Inclusive-exclusive range [low, high) that a parameter is drawn from uniformly. */
export type Range = readonly [number, number];

// ────────────────────────────────────────────────────────────────────────────────────────────────
// Helpers
// ────────────────────────────────────────────────────────────────────────────────────────────────

/**
 * Bilinear sampling, used by the crop and the rotation: the value at continuous position (x, y),
 * pixel centers at integers, x0 = ⌊x⌋, fx = x − x0 (same for y):
 *
 *   top    = fx = 0 ? I[y0][x0]   : (1−fx)·I[y0][x0]   + fx·I[y0][x0+1]
 *   bottom = fx = 0 ? I[y0+1][x0] : (1−fx)·I[y0+1][x0] + fx·I[y0+1][x0+1]
 *   v      = fy = 0 ? top         : (1−fy)·top + fy·bottom
 *
 * (the fx = 0 / fy = 0 cases make an integer position read exactly I[y][x], and never read past
 * the last row or column). Fast kernels: the crop's source columns are the same on every row, so
 * x0 and fx are computed once per column into a table; the rotation splits pixels whose four
 * neighbours are inside the image (no bounds checks) from the border ones. Both evaluate exactly
 * the expressions above, in the same order, so they give the same bits as the per-pixel
 * reference in augment-reference.ts (spec/data/augment-fast-path.spec.ts).
 */
let columnStart = new Float64Array(0); // x0 per output column (a double: a NaN box stays NaN, as in the reference)
let columnFraction = new Float64Array(0); // fx per output column

function columnTables(side: number): void {
  if (columnStart.length < side) {
    columnStart = new Float64Array(side);
    columnFraction = new Float64Array(side);
  }
}

/** I[row][column] of a side×side image, 0 outside it (the rotation's background). */
function pixelOrZero(image: Float32Array, side: number, column: number, row: number): number {
  return column < 0 || row < 0 || column >= side || row >= side ? 0 : image[row * side + column];
}

// ────────────────────────────────────────────────────────────────────────────────────────────────
// Deterministic primitives
// ────────────────────────────────────────────────────────────────────────────────────────────────

/** An axis-aligned crop box in pixels: rows top … top+height−1, columns left … left+width−1. */
export interface CropBox {
  /** The first row of the crop. */
  top: number;
  /** The first column of the crop. */
  left: number;
  /** The number of rows. */
  height: number;
  /** The number of columns. */
  width: number;
}

/**
 * Cut `box` out of `input` and resize it back to side×side with bilinear interpolation
 * (half-pixel centers, as `F.interpolate(mode="bilinear", align_corners=False)`):
 *
 *   source x = left + (x_out + 0.5) · width / side − 0.5      (same for y with top, height)
 *
 * The full box {0, 0, side, side} is the identity.
 */
export function resizedCrop(input: Float32Array, output: Float32Array, box: CropBox): void {
  const side = checkPair(input, output, "resizedCrop");
  const scaleX = box.width / side;
  const scaleY = box.height / side;
  const last = side - 1;
  columnTables(side);
  const starts = columnStart; // locals, so the loops below do not reload them from the module scope
  const fractions = columnFraction;
  for (let column = 0; column < side; column++) {
    // Clamp to the box so that the crop never reads pixels outside it (then to the image, for a box that overhangs it).
    let sourceX = Math.min(Math.max(box.left + (column + 0.5) * scaleX - 0.5, box.left), box.left + box.width - 1);
    sourceX = sourceX < 0 ? 0 : sourceX > last ? last : sourceX;
    starts[column] = Math.floor(sourceX);
    fractions[column] = sourceX - starts[column];
  }
  for (let row = 0; row < side; row++) {
    let sourceY = Math.min(Math.max(box.top + (row + 0.5) * scaleY - 0.5, box.top), box.top + box.height - 1);
    sourceY = sourceY < 0 ? 0 : sourceY > last ? last : sourceY;
    const y0 = Math.floor(sourceY);
    const fy = sourceY - y0;
    const topRow = y0 * side;
    const bottomRow = topRow + side; // read only when fy > 0, i.e. y0 < side − 1
    const outRow = row * side;
    for (let column = 0; column < side; column++) {
      const x0 = starts[column];
      const fx = fractions[column];
      const top = fx === 0 ? input[topRow + x0] : (1 - fx) * input[topRow + x0] + fx * input[topRow + x0 + 1];
      let value = top;
      if (fy !== 0) {
        const bottom = fx === 0 ? input[bottomRow + x0] : (1 - fx) * input[bottomRow + x0] + fx * input[bottomRow + x0 + 1];
        value = (1 - fy) * top + fy * bottom;
      }
      output[outRow + column] = value < 0 ? 0 : value > 1 ? 1 : value;
    }
  }
}

/**
 * Rotate by `degrees` counter-clockwise (as displayed, y pointing down) about the image center
 * c = ((side−1)/2, (side−1)/2), filling uncovered corners with 0 (background). Each output pixel
 * p is read from the input at the inverse-rotated position
 *
 *   [dx]   [ cos θ   −sin θ ] [p_x − c_x]
 *   [dy] = [ sin θ    cos θ ] [p_y − c_y],      source = c + (dx, dy)
 *
 * Rotation by 0 is the identity (bit for bit).
 */
export function rotate(input: Float32Array, output: Float32Array, degrees: number): void {
  const side = checkPair(input, output, "rotate");
  const theta = (degrees * Math.PI) / 180;
  const cos = Math.cos(theta);
  const sin = Math.sin(theta);
  const center = (side - 1) / 2;
  for (let row = 0; row < side; row++) {
    const offsetY = row - center;
    for (let column = 0; column < side; column++) {
      const offsetX = column - center;
      const sourceX = center + cos * offsetX - sin * offsetY;
      const sourceY = center + sin * offsetX + cos * offsetY;
      let value = 0; // background: the source lies a pixel or more outside the image
      if (sourceX > -1 && sourceY > -1 && sourceX < side && sourceY < side) {
        const x0 = Math.floor(sourceX);
        const y0 = Math.floor(sourceY);
        const fx = sourceX - x0;
        const fy = sourceY - y0;
        let v00, v01, v10, v11; // I[y0][x0], I[y0][x0+1], I[y0+1][x0], I[y0+1][x0+1]
        if (x0 >= 0 && y0 >= 0 && x0 + 1 < side && y0 + 1 < side) {
          const at = y0 * side + x0; // interior: all four neighbours inside the image
          v00 = input[at], v01 = input[at + 1], v10 = input[at + side], v11 = input[at + side + 1];
        } else {
          v00 = pixelOrZero(input, side, x0, y0), v01 = pixelOrZero(input, side, x0 + 1, y0);
          v10 = pixelOrZero(input, side, x0, y0 + 1), v11 = pixelOrZero(input, side, x0 + 1, y0 + 1);
        }
        const top = fx === 0 ? v00 : (1 - fx) * v00 + fx * v01;
        value = fy === 0 ? top : (1 - fy) * top + fy * (fx === 0 ? v10 : (1 - fx) * v10 + fx * v11);
      }
      output[row * side + column] = value < 0 ? 0 : value > 1 ? 1 : value;
    }
  }
}

/**
 * out = clamp(factor · in): factor < 1 fades the ink, > 1 saturates it (torchvision adjust_brightness).
 * Pointwise, so output may be the input itself.
 */
export function adjustBrightness(input: Float32Array, output: Float32Array, factor: number): void {
  checkPair(input, output, "adjustBrightness", true);
  for (let i = 0; i < input.length; i++) output[i] = clamp01(factor * input[i]);
}

/**
 * out = clamp(factor · in + (1 − factor) · mean(in)): blend with the image's mean gray
 * (torchvision adjust_contrast). factor 0 gives a flat gray image, 1 the input.
 * Pointwise after the mean, so output may be the input itself.
 */
export function adjustContrast(input: Float32Array, output: Float32Array, factor: number): void {
  checkPair(input, output, "adjustContrast", true);
  let sum = 0;
  for (let i = 0; i < input.length; i++) sum += input[i];
  const offset = (1 - factor) * (sum / input.length);
  for (let i = 0; i < input.length; i++) output[i] = clamp01(factor * input[i] + offset);
}

/**
 * The normalized gaussian weights k[t + r] = exp(−t² / 2σ²) / Σ_s exp(−s² / 2σ²), t = −r … r, with
 * r = max(1, ceil(3σ)); σ > 0. Shared by the blur and its reference (augment-reference.ts).
 */
export function gaussianKernel(sigma: number): Float64Array {
  const radius = Math.max(1, Math.ceil(3 * sigma));
  const kernel = new Float64Array(2 * radius + 1);
  let total = 0;
  for (let t = -radius; t <= radius; t++) {
    // (t = 0 is set apart: for a sigma so small that σ² underflows to 0, 0/0 would be NaN.)
    kernel[t + radius] = t === 0 ? 1 : Math.exp(-(t * t) / (2 * sigma * sigma));
    total += kernel[t + radius];
  }
  for (let t = 0; t < kernel.length; t++) kernel[t] /= total;
  return kernel;
}

/** Reflect an index into [0, side): …, 2, 1, | 0, 1, …, side−1 | side−2, … (torchvision "reflect" padding). */
export function reflectIndex(index: number, side: number): number {
  if (side === 1) return 0;
  const period = 2 * (side - 1);
  let wrapped = index % period;
  if (wrapped < 0) wrapped += period;
  return wrapped < side ? wrapped : period - wrapped;
}

/**
 * Separable gaussian blur with standard deviation `sigma` (pixels), kernel radius r = ceil(3σ),
 *
 *   k[t] = exp(−t² / 2σ²) / Σ_s exp(−s² / 2σ²),   t = −r … r
 *   out = k ⊛_rows (k ⊛_columns in)               (reflect padding at the borders)
 *
 * A normalized kernel keeps the mean brightness (exactly when no ink lies within r pixels of the
 * border; MNIST digits nearly always have such a black margin).
 * sigma ≤ 0 copies the input. `scratch` (side·side) holds the intermediate horizontal pass.
 */
export function gaussianBlur(input: Float32Array, output: Float32Array, sigma: number, scratch?: Float32Array): void {
  const side = checkPair(input, output, "gaussianBlur");
  if (!(sigma > 0)) {
    output.set(input);
    return;
  }
  const kernel = gaussianKernel(sigma);
  const radius = (kernel.length - 1) / 2;

  // reflected[i + radius] = reflectIndex(i, side) for i = −radius … side − 1 + radius: computed once
  // per call instead of once per tap (a modulo each). The taps are summed in the same order, t = −r … r.
  const width = side + 2 * radius;
  if (reflected.length < width) reflected = new Int32Array(width);
  for (let i = 0; i < width; i++) reflected[i] = reflectIndex(i - radius, side);
  // Each output row is summed tap by tap into a row of doubles (sums[column] += k[t]·…, t ascending):
  // the same additions in the same order as one sum per pixel, with long inner loops over columns.
  const taps = kernel.length;
  if (sums.length < side) sums = new Float64Array(side);
  const table = reflected; // locals: V8 keeps them in registers, not reloaded from the module scope per tap
  const acc = sums;
  const horizontal = scratch ?? new Float32Array(input.length);
  for (let row = 0; row < side; row++) {
    const rowStart = row * side;
    acc.fill(0, 0, side);
    for (let k = 0; k < taps; k++) { // k = t + radius
      const weight = kernel[k];
      for (let column = 0; column < side; column++) acc[column] += weight * input[rowStart + table[column + k]];
    }
    for (let column = 0; column < side; column++) horizontal[rowStart + column] = acc[column];
  }
  for (let row = 0; row < side; row++) {
    acc.fill(0, 0, side);
    for (let k = 0; k < taps; k++) {
      const weight = kernel[k];
      const sourceRow = table[row + k] * side;
      for (let column = 0; column < side; column++) acc[column] += weight * horizontal[sourceRow + column];
    }
    const outRow = row * side;
    for (let column = 0; column < side; column++) output[outRow + column] = clamp01(acc[column]);
  }
}

/** One row of running sums for gaussianBlur. */
let sums = new Float64Array(0);

/** The reflected-index table of gaussianBlur, grown as needed and reused across calls. */
let reflected = new Int32Array(0);

/** out = clamp(in + ε), ε ~ N(0, std²) per pixel, drawn from `generator`. std 0 copies the input. */
export function addNoise(input: Float32Array, output: Float32Array, std: number, generator: Generator): void {
  checkPair(input, output, "addNoise");
  if (!(std > 0)) {
    output.set(input);
    return;
  }
  // The draws of one normal(0, std) per pixel, in pixel order, made in one loop (Generator.fillNormal).
  if (noise.length !== input.length) noise = new Float64Array(input.length);
  const draws = noise;
  generator.fillNormal(draws, 0, std);
  for (let i = 0; i < input.length; i++) output[i] = clamp01(input[i] + draws[i]);
}

/** addNoise's draws for one image, reused across calls. */
let noise = new Float64Array(0);

// ────────────────────────────────────────────────────────────────────────────────────────────────
// Random transforms
// ────────────────────────────────────────────────────────────────────────────────────────────────

/**
 * Draw a crop box as torchvision's RandomResizedCrop.get_params does: up to 10 tries of
 *
 *   area   = side² · U(scale)              ratio = exp(U(log r_low, log r_high))
 *   width  = round(√(area · ratio))         height = round(√(area / ratio))
 *   top ~ U{0 … side−height},  left ~ U{0 … side−width}      (accepted if the box fits)
 *
 * then a centered box with the ratio clamped into range as a fallback.
 */
export function sampleCropBox(side: number, scale: Range, ratio: Range, generator: Generator): CropBox {
  const area = side * side;
  const logRatioLow = Math.log(ratio[0]);
  const logRatioHigh = Math.log(ratio[1]);
  for (let attempt = 0; attempt < 10; attempt++) {
    const targetArea = area * generator.uniform(scale[0], scale[1]);
    const aspect = Math.exp(generator.uniform(logRatioLow, logRatioHigh));
    const width = Math.round(Math.sqrt(targetArea * aspect));
    const height = Math.round(Math.sqrt(targetArea / aspect));
    if (width > 0 && width <= side && height > 0 && height <= side) {
      const top = generator.randint(0, side - height + 1);
      const left = generator.randint(0, side - width + 1);
      return { top, left, height, width };
    }
  }
  // Fallback: the whole image, cut to the nearest allowed aspect ratio (width / height = 1 for a square).
  const clampedRatio = Math.min(Math.max(1, ratio[0]), ratio[1]);
  const width = clampedRatio >= 1 ? side : Math.round(side * clampedRatio);
  const height = clampedRatio >= 1 ? Math.round(side / clampedRatio) : side;
  return { top: Math.floor((side - height) / 2), left: Math.floor((side - width) / 2), height, width };
}

/**
 * Random resized crop: keep a random box covering `scale` of the area with aspect ratio
 * (width/height) in `ratio`, stretched back to the full size. Teaches invariance to position and
 * scale, and (with small boxes) to seeing only part of the digit.
 * torchvision: `T.RandomResizedCrop(28, scale=(0.5, 1.0), ratio=(3/4, 4/3), antialias=False)`.
 */
export function randomResizedCrop(options: { scale?: Range; ratio?: Range } = {}): Transform {
  checkOptions("randomResizedCrop", options, { scale: true, ratio: true });
  const scale = options.scale ?? [0.5, 1];
  const ratio = options.ratio ?? [3 / 4, 4 / 3];
  if (!(scale[0] > 0 && scale[0] <= scale[1] && scale[1] <= 1)) {
    throw new Error(`randomResizedCrop: need 0 < scale[0] ≤ scale[1] ≤ 1, got [${scale}]`);
  }
  if (!(ratio[0] > 0 && ratio[0] <= ratio[1])) throw new Error(`randomResizedCrop: need 0 < ratio[0] ≤ ratio[1], got [${ratio}]`);
  return {
    name: `randomResizedCrop(scale=[${scale[0]}, ${scale[1]}], ratio=[${ratio[0].toFixed(3)}, ${ratio[1].toFixed(3)}])`,
    apply(input, output, generator) {
      const box = sampleCropBox(imageSide(input.length), scale, ratio, generator);
      resizedCrop(input, output, box);
    },
  };
}

/**
 * Random rotation by θ ~ U(−degrees, degrees), bilinear, background fill 0.
 * torchvision: `T.RandomRotation(15, interpolation=InterpolationMode.BILINEAR, fill=0)`.
 */
export function randomRotation(degrees = 15): Transform {
  if (!(degrees >= 0)) throw new Error(`randomRotation: degrees must be ≥ 0, got ${degrees}`);
  return {
    name: `randomRotation(±${degrees}°)`,
    apply(input, output, generator) {
      rotate(input, output, generator.uniform(-degrees, degrees));
    },
  };
}

/**
 * Brightness then contrast jitter, each factor drawn from U(max(0, 1 − s), 1 + s):
 *
 *   x ← clamp(b · x)                      b ~ U(1 − brightness, 1 + brightness)
 *   x ← clamp(c · x + (1 − c) · mean(x))   c ~ U(1 − contrast, 1 + contrast)
 *
 * torchvision: `T.ColorJitter(brightness, contrast)` (which also shuffles the order of the two; we
 * keep it fixed for readability).
 */
export function colorJitter(options: { brightness?: number; contrast?: number } = {}): Transform {
  checkOptions("colorJitter", options, { brightness: true, contrast: true });
  const brightness = options.brightness ?? 0.4;
  const contrast = options.contrast ?? 0.4;
  if (!(brightness >= 0 && contrast >= 0)) throw new Error(`colorJitter: strengths must be ≥ 0, got ${brightness}, ${contrast}`);
  return {
    name: `colorJitter(brightness=${brightness}, contrast=${contrast})`,
    apply(input, output, generator) {
      const brightnessFactor = generator.uniform(Math.max(0, 1 - brightness), 1 + brightness);
      const contrastFactor = generator.uniform(Math.max(0, 1 - contrast), 1 + contrast);
      adjustBrightness(input, output, brightnessFactor);
      adjustContrast(output, output, contrastFactor); // in place: pointwise after the mean
    },
  };
}

/**
 * Gaussian blur with σ ~ U(sigma), applied with probability `probability` (otherwise a copy).
 * torchvision: `T.RandomApply([T.GaussianBlur(kernel_size, sigma=(0.1, 1.0))], p=0.5)`; torchvision
 * uses a fixed kernel size, we use radius ceil(3σ).
 */
export function randomGaussianBlur(options: { sigma?: Range; probability?: number } = {}): Transform {
  checkOptions("randomGaussianBlur", options, { sigma: true, probability: true });
  const sigma = options.sigma ?? [0.1, 1];
  const probability = options.probability ?? 0.5;
  if (!(sigma[0] >= 0 && sigma[0] <= sigma[1])) throw new Error(`randomGaussianBlur: need 0 ≤ sigma[0] ≤ sigma[1], got [${sigma}]`);
  let scratch = new Float32Array(0);
  const blur: Transform = {
    name: `gaussianBlur(sigma=[${sigma[0]}, ${sigma[1]}])`,
    apply(input, output, generator) {
      if (scratch.length !== input.length) scratch = new Float32Array(input.length);
      gaussianBlur(input, output, generator.uniform(sigma[0], sigma[1]), scratch);
    },
  };
  return randomApply(blur, probability);
}

/**
 * Additive gaussian noise with standard deviation `std`, applied with probability `probability`.
 * torchvision has no built-in transform for this; the usual one-liner is
 * `x + std * torch.randn_like(x)` followed by `clamp(0, 1)`.
 */
export function gaussianNoise(options: { std?: number; probability?: number } = {}): Transform {
  checkOptions("gaussianNoise", options, { std: true, probability: true });
  const std = options.std ?? 0.05;
  const probability = options.probability ?? 0.5;
  if (!(std >= 0)) throw new Error(`gaussianNoise: std must be ≥ 0, got ${std}`);
  const noise: Transform = {
    name: `gaussianNoise(std=${std})`,
    apply(input, output, generator) {
      addNoise(input, output, std, generator);
    },
  };
  return randomApply(noise, probability);
}

/**
 * Apply `transform` with probability p, otherwise copy: one uniform draw decides.
 * torchvision: `T.RandomApply([transform], p)`.
 */
export function randomApply(transform: Transform, probability: number): Transform {
  if (!(probability >= 0 && probability <= 1)) throw new Error(`randomApply: probability must be in [0, 1], got ${probability}`);
  return {
    name: probability === 1 ? transform.name : `randomApply(${transform.name}, p=${probability})`,
    apply(input, output, generator) {
      if (generator.random() < probability) transform.apply(input, output, generator);
      else output.set(input);
    },
  };
}

/**
 * Chain transforms left to right: compose([a, b, c]) maps x to c(b(a(x))). Intermediate results
 * live in two buffers reused for every image. compose([]) is the identity (a copy).
 * torchvision: `T.Compose([...])`.
 */
export function compose(transforms: readonly Transform[]): Transform {
  const steps = [...transforms];
  let bufferA = new Float32Array(0);
  let bufferB = new Float32Array(0);
  return {
    name: steps.length === 0 ? "identity" : steps.map((t) => t.name).join(" → "),
    apply(input, output, generator) {
      checkPair(input, output, "compose");
      if (steps.length === 0) {
        output.set(input);
        return;
      }
      if (bufferA.length !== input.length) {
        bufferA = new Float32Array(input.length);
        bufferB = new Float32Array(input.length);
      }
      let source = input;
      for (let k = 0; k < steps.length; k++) {
        const target = k === steps.length - 1 ? output : source === bufferA ? bufferB : bufferA;
        steps[k].apply(source, target, generator);
        source = target;
      }
    },
  };
}

// ────────────────────────────────────────────────────────────────────────────────────────────────
// The default SimCLR-style pipeline
// ────────────────────────────────────────────────────────────────────────────────────────────────

/** Every parameter of the default pipeline (see `defaultAugmentation`). */
export interface AugmentationConfig {
  /** Crop area as a fraction of the image, drawn uniformly. */
  cropScale: Range;
  /** Crop aspect ratio width/height, drawn log-uniformly. */
  cropRatio: Range;
  /** Maximum rotation in degrees, either way. */
  rotationDegrees: number;
  /** Brightness factor range 1 ± brightness. */
  brightness: number;
  /** Contrast factor range 1 ± contrast. */
  contrast: number;
  /** Probability that the color jitter is applied at all. */
  jitterProbability: number;
  /** Blur sigma range in pixels. */
  blurSigma: Range;
  /** Probability that the blur is applied. */
  blurProbability: number;
  /** Standard deviation of the additive noise. */
  noiseStd: number;
  /** Probability that the noise is added. */
  noiseProbability: number;
}

/** The default parameters, chosen so that every view is still plainly the same digit. */
export const DEFAULT_AUGMENTATION: Readonly<AugmentationConfig> = Object.freeze({
  cropScale: [0.5, 1] as Range,
  cropRatio: [3 / 4, 4 / 3] as Range,
  rotationDegrees: 15,
  brightness: 0.4,
  contrast: 0.4,
  jitterProbability: 0.8,
  blurSigma: [0.1, 1] as Range,
  blurProbability: 0.5,
  noiseStd: 0.05,
  noiseProbability: 0.5,
});

/**
 * Options for `defaultAugmentation`: an overall `strength` s ≥ 0 that scales every default
 * (s = 0: identity, 1: the defaults, 2: twice as strong), and any parameter set explicitly, which
 * wins over the scaled default.
 */
export type AugmentationOptions = Partial<AugmentationConfig> & {
  /** s ≥ 0 scaling every default (default 1). */
  strength?: number;
};

/** The keys of AugmentationOptions, for the unknown-key check of the functions that take them. */
const AUGMENTATION_OPTION_KEYS: OptionKeys<AugmentationOptions> = {
  cropScale: true,
  cropRatio: true,
  rotationDegrees: true,
  brightness: true,
  contrast: true,
  jitterProbability: true,
  blurSigma: true,
  blurProbability: true,
  noiseStd: true,
  noiseProbability: true,
  strength: true,
};

/**
 * Resolve options into a full configuration. Scaling by strength s:
 *   cropScale  [1 − s·(1 − 0.5), 1]           cropRatio  [(3/4)^s, (4/3)^s]
 *   rotation, brightness, contrast, blur sigma, noise std: multiplied by s
 * (the crop's lower scale is floored at 0.05 so that s > 2 stays valid).
 */
export function resolveAugmentationConfig(options: AugmentationOptions = {}): AugmentationConfig {
  checkOptions("resolveAugmentationConfig", options, AUGMENTATION_OPTION_KEYS);
  const s = options.strength ?? 1;
  if (!(s >= 0)) throw new Error(`defaultAugmentation: strength must be ≥ 0, got ${s}`);
  const d = DEFAULT_AUGMENTATION;
  const scaled: AugmentationConfig = {
    cropScale: [Math.max(0.05, 1 - s * (1 - d.cropScale[0])), 1],
    cropRatio: [Math.pow(d.cropRatio[0], s), Math.pow(d.cropRatio[1], s)],
    rotationDegrees: s * d.rotationDegrees,
    brightness: s * d.brightness,
    contrast: s * d.contrast,
    jitterProbability: d.jitterProbability,
    blurSigma: [s * d.blurSigma[0], s * d.blurSigma[1]],
    blurProbability: d.blurProbability,
    noiseStd: s * d.noiseStd,
    noiseProbability: d.noiseProbability,
  };
  const { strength: _strength, ...overrides } = options;
  const defined = Object.fromEntries(Object.entries(overrides).filter(([, value]) => value !== undefined));
  return { ...scaled, ...defined };
}

/**
 * The SimCLR-style pipeline for digits:
 *
 *   crop(scale, ratio) → rotate(±deg) → [jitter(brightness, contrast)]_p=0.8 → [blur(σ)]_p=0.5 → [noise(std)]_p=0.5
 *
 * `defaultAugmentation({ strength: 0 })` is the identity; `defaultAugmentation({ rotationDegrees: 0 })`
 * keeps the other defaults.
 */
export function defaultAugmentation(options: AugmentationOptions = {}): Transform {
  checkOptions("defaultAugmentation", options, AUGMENTATION_OPTION_KEYS);
  const config = resolveAugmentationConfig(options);
  return compose([
    randomResizedCrop({ scale: config.cropScale, ratio: config.cropRatio }),
    randomRotation(config.rotationDegrees),
    randomApply(colorJitter({ brightness: config.brightness, contrast: config.contrast }), config.jitterProbability),
    randomGaussianBlur({ sigma: config.blurSigma, probability: config.blurProbability }),
    gaussianNoise({ std: config.noiseStd, probability: config.noiseProbability }),
  ]);
}

// ────────────────────────────────────────────────────────────────────────────────────────────────
// Batches
// ────────────────────────────────────────────────────────────────────────────────────────────────

/** Transform one image into a new array. */
export function augment(image: Float32Array, pipeline: Transform, generator: Generator): Float32Array {
  const output = new Float32Array(image.length);
  pipeline.apply(image, output, generator);
  return output;
}

/**
 * Augment every image of a batch independently, in order, from one generator.
 *   images: (count, side·side) flat   →   (count, side·side) flat (a new array, or `out`)
 */
export function augmentBatch(
  images: Float32Array,
  count: number,
  pipeline: Transform,
  generator: Generator,
  out?: Float32Array,
): Float32Array {
  if (!(Number.isInteger(count) && count >= 0) || (count > 0 && images.length % count !== 0)) {
    throw new Error(`augmentBatch: ${images.length} values do not divide into ${count} images`);
  }
  const result = out ?? new Float32Array(images.length);
  if (result.length !== images.length) throw new Error(`augmentBatch: out has ${result.length} values, expected ${images.length}`);
  if (count === 0) return result;
  const pixels = images.length / count;
  for (let i = 0; i < count; i++) {
    pipeline.apply(images.subarray(i * pixels, (i + 1) * pixels), result.subarray(i * pixels, (i + 1) * pixels), generator);
  }
  return result;
}

/**
 * Tiles for a preview sheet: one row per image, the original followed by `viewsPerImage`
 * augmented views. Returns (count · (1 + viewsPerImage), side·side) images in row-major tile order,
 * ready for `imageGrid(images, rows, cols)` in png.ts.
 */
export function augmentationPreview(
  images: Float32Array,
  count: number,
  pipeline: Transform,
  generator: Generator,
  viewsPerImage = 6,
): {
  /** The tiles, (rows·cols, side·side) in row-major tile order: each original followed by its views. */
  images: Float32Array;
  /** Rows of the grid (one per image). */
  rows: number;
  /** Columns of the grid (the original and its views). */
  cols: number;
} {
  const pixels = images.length / count;
  const cols = 1 + viewsPerImage;
  const tiles = new Float32Array(count * cols * pixels);
  for (let i = 0; i < count; i++) {
    const original = images.subarray(i * pixels, (i + 1) * pixels);
    tiles.set(original, i * cols * pixels);
    for (let v = 1; v < cols; v++) {
      const start = (i * cols + v) * pixels;
      pipeline.apply(original, tiles.subarray(start, start + pixels), generator);
    }
  }
  return { images: tiles, rows: count, cols };
}
