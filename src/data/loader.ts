/**
 * Seeded, resumable mini-batch loaders.
 *
 * Each epoch visits the images in a fresh random order drawn with `Generator.randperm`, cut into
 * batches of `batchSize` indices:
 *
 *   epoch e:  π_e = randperm(n)          batch b = π_e[b·B … (b+1)·B − 1],  b = 0 … ⌊n/B⌋ − 1
 *
 * (plus a last, smaller batch when `dropLast` is false). Contrastive losses use the other images
 * of the batch as negatives, so a smaller last batch has an easier task and a different loss
 * scale; the default is therefore `dropLast: true`, as SimCLR implementations do.
 *
 * Two kinds of batch:
 *   - `TwoViewLoader` (SimCLR, MoCo, BYOL): two independently augmented views of every image,
 *     view1 and view2, each (B, 1, 28, 28); view1[i] and view2[i] are the positive pair.
 *   - `ImageCaptionLoader` (CLIP): each image with one caption, drawn per image per epoch from
 *     the caption table's templates; tokens (B, maxLength).
 *
 * Reproducibility. Two generators: one draws the epoch orders, the other everything per batch
 * (augmentations, caption choice). `getState()` returns the epoch, the position inside it, the
 * order generator's state at the start of the epoch (the order is re-drawn from it on restore)
 * and the batch generator's state, all JSON-serializable. A run restored with `setState` yields
 * exactly the batches, bit for bit, that the original run would have yielded next.
 *
 * PyTorch equivalent: `DataLoader(dataset, batch_size=B, shuffle=True, drop_last=True,
 * generator=torch.Generator().manual_seed(seed))`, with the augmentation inside the dataset's
 * `__getitem__`. PyTorch does not save a loader's position; resuming mid-epoch needs a sampler
 * that skips the batches already seen, which is what `position` does here.
 *
 * @module
 */
import { Generator } from "../tensor/random.js";
import { augmentBatch, type Transform } from "./augment.js";
import { captionTokens, type CaptionTable } from "./captions.js";
import { gatherImages, type Split } from "./mnist.js";
import { checkOptions } from "../tensor/options.js";

/** Options of {@link BatchSampler}, {@link TwoViewLoader} and {@link ImageCaptionLoader}. */
export interface LoaderOptions {
  /** Images per batch. */
  batchSize: number;
  /** Seed of both generators (the batch generator uses a stream derived from it). */
  seed: number;
  /** Drop the last batch of an epoch if it is smaller than batchSize. Default true. */
  dropLast?: boolean;
  /** Visit images in a random order (default) or in index order. */
  shuffle?: boolean;
}

/** Everything needed to continue a loader exactly where it was. JSON-safe. */
export interface LoaderState {
  /** Epochs completed. */
  epoch: number;
  /** Images of the current epoch already handed out. */
  position: number;
  /** Order generator state at the start of the current epoch (null spare normal = none). */
  orderState: (number | null)[];
  /** Batch generator state now. */
  batchState: (number | null)[];
  /** Checked on restore: the state only fits a loader over the same data and batch size. */
  count: number;
  /** The batch size it was saved with. */
  batchSize: number;
  /** The `dropLast` it was saved with. */
  dropLast: boolean;
  /** The `shuffle` it was saved with. */
  shuffle: boolean;
}

function saveGenerator(generator: Generator): (number | null)[] {
  return generator.getState().map((value) => (Number.isNaN(value) ? null : value));
}

function loadGenerator(generator: Generator, state: readonly (number | null)[]): void {
  generator.setState(state.map((value) => (value === null ? NaN : value)));
}

/** Mixes the seed into an unrelated stream for the batch generator (a SplitMix-style constant). */
const BATCH_STREAM_OFFSET = 0x5bd1e995;

/** The option names every loader accepts. */
const LOADER_OPTION_KEYS = { batchSize: true, seed: true, dropLast: true, shuffle: true } as const;

/**
 * The index part of a loader: which images go into the next batch, epoch after epoch — a seeded
 * permutation per epoch (or the natural order without `shuffle`), cut into batches. Resumable via
 * {@link BatchSampler.getState} / {@link BatchSampler.setState}. PyTorch: `torch.utils.data.BatchSampler`
 * over a `RandomSampler` with a seeded generator.
 */
export class BatchSampler {
  /** The number of images in the split. */
  readonly count: number;
  /** Images per batch. */
  readonly batchSize: number;
  /** Whether an epoch's last, smaller batch is dropped (default true). */
  readonly dropLast: boolean;
  /** Whether each epoch visits the images in a random order (default true). */
  readonly shuffle: boolean;
  /** Draws one permutation per epoch. */
  private readonly orderGenerator: Generator;
  /** Available to the loaders for per-batch draws (augmentations, captions). */
  readonly batchGenerator: Generator;
  private epochValue = 0;
  private positionValue = 0;
  private orderStateAtEpochStart: number[];
  private order: Int32Array;

  /**
   * A sampler over `count` images.
   *
   * @param count the number of images.
   * @param options batchSize, seed, dropLast (default true), shuffle (default true).
   */
  constructor(count: number, options: LoaderOptions) {
    checkOptions("BatchSampler", options, LOADER_OPTION_KEYS);
    if (!(Number.isInteger(options.batchSize) && options.batchSize > 0)) {
      throw new Error(`loader: batchSize must be a positive integer, got ${options.batchSize}`);
    }
    this.count = count;
    this.batchSize = options.batchSize;
    this.dropLast = options.dropLast ?? true;
    this.shuffle = options.shuffle ?? true;
    if (this.batchesPerEpoch === 0) {
      throw new Error(`loader: ${count} images make no batch of ${this.batchSize}${this.dropLast ? " with dropLast" : ""}`);
    }
    this.orderGenerator = new Generator(options.seed);
    this.batchGenerator = new Generator((options.seed ^ BATCH_STREAM_OFFSET) >>> 0);
    this.orderStateAtEpochStart = this.orderGenerator.getState();
    this.order = this.drawOrder();
  }

  /** Number of batches in one epoch: ⌊n/B⌋ with dropLast, ⌈n/B⌉ without. */
  get batchesPerEpoch(): number {
    return this.dropLast ? Math.floor(this.count / this.batchSize) : Math.ceil(this.count / this.batchSize);
  }

  /** Epochs completed so far. */
  get epoch(): number {
    return this.epochValue;
  }

  /** Images of the current epoch already handed out. */
  get position(): number {
    return this.positionValue;
  }

  private drawOrder(): Int32Array {
    if (this.shuffle) return this.orderGenerator.randperm(this.count);
    return Int32Array.from({ length: this.count }, (_, i) => i);
  }

  /**
   * The indices of the next batch, (≤ batchSize,). After the last batch of an epoch the sampler
   * moves on to the next epoch (epoch + 1, position 0, a new order).
   */
  nextIndices(): Int32Array {
    const end = Math.min(this.positionValue + this.batchSize, this.count);
    const indices = this.order.slice(this.positionValue, end);
    this.positionValue = end;
    const remaining = this.count - this.positionValue;
    if (remaining === 0 || (this.dropLast && remaining < this.batchSize)) {
      this.epochValue += 1;
      this.positionValue = 0;
      this.orderStateAtEpochStart = this.orderGenerator.getState();
      this.order = this.drawOrder();
    }
    return indices;
  }

  /** The state to resume from (JSON-safe): epoch, position, generator states. */
  getState(): LoaderState {
    return {
      epoch: this.epochValue,
      position: this.positionValue,
      orderState: this.orderStateAtEpochStart.map((value) => (Number.isNaN(value) ? null : value)),
      batchState: saveGenerator(this.batchGenerator),
      count: this.count,
      batchSize: this.batchSize,
      dropLast: this.dropLast,
      shuffle: this.shuffle,
    };
  }

  /** Continue exactly where a saved state left off; an error if it was saved with other data or batch settings. */
  setState(state: LoaderState): void {
    const expected = { count: this.count, batchSize: this.batchSize, dropLast: this.dropLast, shuffle: this.shuffle };
    for (const [key, value] of Object.entries(expected)) {
      if (state[key as keyof typeof expected] !== value) {
        throw new Error(
          `loader.setState: the state was saved with ${key}=${String(state[key as keyof typeof expected])}, this loader has ${key}=${
            String(value)
          }`,
        );
      }
    }
    loadGenerator(this.orderGenerator, state.orderState);
    this.orderStateAtEpochStart = this.orderGenerator.getState();
    this.order = this.drawOrder(); // the same permutation as when the epoch started
    loadGenerator(this.batchGenerator, state.batchState);
    this.epochValue = state.epoch;
    this.positionValue = state.position;
  }
}

/** One SimCLR-style batch. */
export interface TwoViewBatch {
  /** (B, 1, 28, 28) flattened: the first augmented view of each image. */
  view1: Float32Array;
  /** (B, 1, 28, 28) flattened: the second, independently augmented view. */
  view2: Float32Array;
  /** (B,) digit labels, for evaluation only (self-supervised training ignores them). */
  labels: Int32Array;
  /** (B,) indices of the images in the split. */
  indices: Int32Array;
  /** B, the number of images in this batch. */
  batchSize: number;
}

/** Abstract base: epoch bookkeeping shared by both loaders. */
abstract class SeededLoader<Batch> {
  protected readonly sampler: BatchSampler;
  protected readonly pixelsPerImage: number;

  constructor(
    protected readonly split: Split,
    options: LoaderOptions,
  ) {
    if (!(split.count > 0 && split.images.length % split.count === 0)) {
      throw new Error(`loader: the split's ${split.images.length} values do not form ${split.count} images`);
    }
    const { batchSize, seed, dropLast, shuffle } = options; // the loaders' own options stay with them
    this.sampler = new BatchSampler(split.count, { batchSize, seed, dropLast, shuffle });
    this.pixelsPerImage = split.images.length / split.count;
  }

  protected abstract makeBatch(indices: Int32Array): Batch;

  /** The next batch; crosses epoch boundaries by itself. */
  next(): Batch {
    return this.makeBatch(this.sampler.nextIndices());
  }

  /** The remaining batches of the current epoch (all of them when called at an epoch's start). */
  *epochBatches(): IterableIterator<Batch> {
    const epoch = this.sampler.epoch;
    while (this.sampler.epoch === epoch) yield this.next();
  }

  /** Epochs completed. */
  get epoch(): number {
    return this.sampler.epoch;
  }

  /** Images of the current epoch already handed out. */
  get position(): number {
    return this.sampler.position;
  }

  /** Batches per epoch (the last, smaller one counted unless `dropLast`). */
  get batchesPerEpoch(): number {
    return this.sampler.batchesPerEpoch;
  }

  /** The state to resume from, see {@link BatchSampler.getState}. */
  getState(): LoaderState {
    return this.sampler.getState();
  }

  /** Continue from a saved state, see {@link BatchSampler.setState}. */
  setState(state: LoaderState): void {
    this.sampler.setState(state);
  }

  protected gatherLabels(indices: Int32Array): Int32Array {
    return Int32Array.from(indices, (index) => this.split.labels[index]);
  }
}

/**
 * Batches of two augmented views per image. Within a batch, view1 of every image is drawn first,
 * then view2, from the loader's batch generator.
 */
export class TwoViewLoader extends SeededLoader<TwoViewBatch> {
  /**
   * A loader of two augmented views per image of `split`.
   *
   * @param split the images.
   * @param pipeline the augmentation applied independently to make each view.
   * @param options batchSize, seed, dropLast, shuffle.
   */
  constructor(
    split: Split,
    private readonly pipeline: Transform,
    options: LoaderOptions,
  ) {
    super(split, checkOptions("TwoViewLoader", options, LOADER_OPTION_KEYS));
  }

  protected makeBatch(indices: Int32Array): TwoViewBatch {
    const originals = gatherImages(this.split.images, this.pixelsPerImage, indices);
    const generator = this.sampler.batchGenerator;
    const view1 = augmentBatch(originals, indices.length, this.pipeline, generator);
    const view2 = augmentBatch(originals, indices.length, this.pipeline, generator);
    return { view1, view2, labels: this.gatherLabels(indices), indices, batchSize: indices.length };
  }
}

/** One CLIP batch. */
export interface ImageCaptionBatch {
  /** (B, 1, 28, 28) flattened: the images (augmented if the loader has a pipeline). */
  images: Float32Array;
  /** (B, maxLength) token ids, padded with 0. */
  tokens: Int32Array;
  /** (B,) which template each caption was rendered with. */
  templateIds: Int32Array;
  /** (B,) digit labels. */
  labels: Int32Array;
  /** (B,) indices of the images in the split. */
  indices: Int32Array;
  /** B, the number of pairs in this batch. */
  batchSize: number;
  /** The token length of every caption row. */
  maxLength: number;
}

/**
 * Batches of (image, caption tokens) pairs. For every image a template is drawn uniformly from
 * the caption table (so the same image gets different sentences in different epochs), then, if a
 * pipeline is given, the images are augmented. Keep such a pipeline mild (small crops and
 * rotations change what "small" or "upright" would say).
 */
export class ImageCaptionLoader extends SeededLoader<ImageCaptionBatch> {
  private readonly augmentation: Transform | null;

  /**
   * A loader of (image, caption) pairs over `split` and its caption table.
   *
   * @param split the images.
   * @param captions one caption table row per image of the split.
   * @param options batchSize, seed, dropLast, shuffle, and an optional (mild) augmentation.
   */
  constructor(
    split: Split,
    private readonly captions: CaptionTable,
    options: LoaderOptions & { augmentation?: Transform },
  ) {
    super(split, checkOptions("ImageCaptionLoader", options, { ...LOADER_OPTION_KEYS, augmentation: true }));
    if (captions.count !== split.count) {
      throw new Error(`ImageCaptionLoader: the caption table has ${captions.count} images, the split ${split.count}`);
    }
    this.augmentation = options.augmentation ?? null;
  }

  protected makeBatch(indices: Int32Array): ImageCaptionBatch {
    const generator = this.sampler.batchGenerator;
    const { maxLength, templates } = this.captions;
    const tokens = new Int32Array(indices.length * maxLength);
    const templateIds = new Int32Array(indices.length);
    for (let k = 0; k < indices.length; k++) {
      templateIds[k] = generator.randint(0, templates.length);
      tokens.set(captionTokens(this.captions, indices[k], templateIds[k]), k * maxLength);
    }
    let images = gatherImages(this.split.images, this.pixelsPerImage, indices);
    if (this.augmentation !== null) images = augmentBatch(images, indices.length, this.augmentation, generator);
    return { images, tokens, templateIds, labels: this.gatherLabels(indices), indices, batchSize: indices.length, maxLength };
  }
}
