/**
 * The per-image reference for the augmentation primitives of augment.ts: the formulas exactly as
 * first written, one bilinear sample per output pixel through a small reading closure, a reflected
 * index computed per blur tap, one `generator.normal()` call per noise pixel.
 *
 * augment.ts computes the same values with plain loops over precomputed column tables and
 * interior/border splits (see "Fast kernels" there); spec/data/augment-fast-path.spec.ts checks
 * that both give the same float32 bits for random images, boxes, angles and sigmas, and that a
 * whole batch through the default pipeline matches a batch built from these functions with the
 * same draws in the same order. Kept as the readable definition and as the test's oracle; the
 * library itself does not call it.
 *
 * @module
 */
import { Generator } from "../tensor/random.js";
// Brightness, contrast, the blur's weights and its reflected borders have no fast path: the reference uses the library's own.
import {
  adjustBrightness,
  adjustContrast,
  gaussianKernel,
  reflectIndex,
  sampleCropBox,
  type AugmentationConfig,
  type CropBox,
  type Transform,
} from "./augment.js";
import { checkPair, clamp01, imageSide } from "./pixels.js";

/**
 * Bilinear sample of `image` at continuous position (x, y), pixel centers at integers.
 *
 *   v = (1−fx)(1−fy)·I[y0][x0] + fx(1−fy)·I[y0][x0+1] + (1−fx)fy·I[y0+1][x0] + fx·fy·I[y0+1][x0+1]
 *
 * `outside`: "zero" reads pixels outside the image as 0 (background), "clamp" repeats the border.
 * At integer (x, y) the result is exactly I[y][x].
 */
function bilinear(image: Float32Array, side: number, x: number, y: number, outside: "zero" | "clamp"): number {
  if (outside === "clamp") {
    x = x < 0 ? 0 : x > side - 1 ? side - 1 : x;
    y = y < 0 ? 0 : y > side - 1 ? side - 1 : y;
  } else if (x <= -1 || y <= -1 || x >= side || y >= side) {
    return 0;
  }
  const x0 = Math.floor(x);
  const y0 = Math.floor(y);
  const fx = x - x0;
  const fy = y - y0;
  const read = (column: number, row: number): number =>
    column < 0 || row < 0 || column >= side || row >= side ? 0 : image[row * side + column];
  const top = fx === 0 ? read(x0, y0) : (1 - fx) * read(x0, y0) + fx * read(x0 + 1, y0);
  if (fy === 0) return top;
  const bottom = fx === 0 ? read(x0, y0 + 1) : (1 - fx) * read(x0, y0 + 1) + fx * read(x0 + 1, y0 + 1);
  return (1 - fy) * top + fy * bottom;
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
  for (let row = 0; row < side; row++) {
    // Clamp to the box so that the crop never reads pixels outside it.
    const sourceY = Math.min(Math.max(box.top + (row + 0.5) * scaleY - 0.5, box.top), box.top + box.height - 1);
    for (let column = 0; column < side; column++) {
      const sourceX = Math.min(Math.max(box.left + (column + 0.5) * scaleX - 0.5, box.left), box.left + box.width - 1);
      output[row * side + column] = clamp01(bilinear(input, side, sourceX, sourceY, "clamp"));
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
      output[row * side + column] = clamp01(bilinear(input, side, sourceX, sourceY, "zero"));
    }
  }
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

  const horizontal = scratch ?? new Float32Array(input.length);
  for (let row = 0; row < side; row++) {
    for (let column = 0; column < side; column++) {
      let sum = 0;
      for (let t = -radius; t <= radius; t++) sum += kernel[t + radius] * input[row * side + reflectIndex(column + t, side)];
      horizontal[row * side + column] = sum;
    }
  }
  for (let row = 0; row < side; row++) {
    for (let column = 0; column < side; column++) {
      let sum = 0;
      for (let t = -radius; t <= radius; t++) sum += kernel[t + radius] * horizontal[reflectIndex(row + t, side) * side + column];
      output[row * side + column] = clamp01(sum);
    }
  }
}

/** out = clamp(in + ε), ε ~ N(0, std²) per pixel, drawn from `generator`. std 0 copies the input. */
export function addNoise(input: Float32Array, output: Float32Array, std: number, generator: Generator): void {
  checkPair(input, output, "addNoise");
  if (!(std > 0)) {
    output.set(input);
    return;
  }
  for (let i = 0; i < input.length; i++) output[i] = clamp01(input[i] + generator.normal(0, std));
}

/**
 * The default pipeline (augment.ts `defaultAugmentation`) written out as one function over the
 * reference primitives, its random draws in the order the composed transforms make them:
 *
 *   crop box (sampleCropBox) → angle → [jitter? then brightness, contrast factors]
 *   → [blur? then sigma] → [noise? then one normal per pixel]
 *
 * The oracle for the batch spec: augmentBatch(images, n, defaultAugmentation(options), g) must
 * equal n calls of this, bit for bit, from a generator with the same state.
 */
export function referenceAugmentation(config: AugmentationConfig): Transform {
  let first = new Float32Array(0);
  let second = new Float32Array(0);
  let scratch = new Float32Array(0);
  return {
    name: "referenceAugmentation",
    apply(input, output, generator) {
      const side = checkPair(input, output, "referenceAugmentation");
      if (first.length !== input.length) {
        first = new Float32Array(input.length);
        second = new Float32Array(input.length);
        scratch = new Float32Array(input.length);
      }
      resizedCrop(input, first, sampleCropBox(side, config.cropScale, config.cropRatio, generator));
      rotate(first, second, generator.uniform(-config.rotationDegrees, config.rotationDegrees));
      if (generator.random() < config.jitterProbability) {
        const brightnessFactor = generator.uniform(Math.max(0, 1 - config.brightness), 1 + config.brightness);
        const contrastFactor = generator.uniform(Math.max(0, 1 - config.contrast), 1 + config.contrast);
        adjustBrightness(second, first, brightnessFactor);
        adjustContrast(first, first, contrastFactor);
      } else first.set(second);
      if (generator.random() < config.blurProbability) {
        gaussianBlur(first, second, generator.uniform(config.blurSigma[0], config.blurSigma[1]), scratch);
      } else second.set(first);
      if (generator.random() < config.noiseProbability) addNoise(second, output, config.noiseStd, generator);
      else output.set(second);
    },
  };
}
