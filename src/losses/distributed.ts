/**
 * CLIP's loss split across W data-parallel workers, the way open_clip does it
 * (src/open_clip/loss.py: `gather_features` and `ClipLoss` with `local_loss` and
 * `gather_with_grad`), simulated in one process so that the port to torch.distributed is a
 * transliteration. docs/large-batches.md ("Data parallel") maps each step to its PyTorch call.
 *
 * The global batch of B pairs is cut into W shards; rank r holds I_r, T_r (n_r, D), the rows
 * o_r … o_r + n_r − 1 of the global batch, o_r = n_0 + … + n_{r−1} (= r·n when shards are equal).
 *
 *   I = allGather(I_r), T = allGather(T_r)                         (B, D) each, every rank
 *   full logits (localLoss false):  L_r = ½ [CE(I Tᵀ/τ, arange(B)) + CE(T Iᵀ/τ, arange(B))]
 *                                   every rank computes the global loss L
 *   local logits (localLoss true):  L_r = (W/B) · ½ Σ_{i local} [CE(I_r Tᵀ/τ)_i + CE(T_r Iᵀ/τ)_i]
 *                                   (n_r, B) logits, row i's label o_r + i
 *
 * With equal shards W/B = 1/n_r, and the local loss is open_clip's: the mean over the local rows.
 * DDP averages the ranks' gradients, i.e. differentiates (1/W) Σ_r L_r, and in both variants that
 * is L: full logits, W copies of L averaged; local logits, (1/W) Σ_r (W/B) Σ_local = (1/B) Σ_all.
 *
 * Uneven shards: open_clip assumes every rank has the same n (its labels are
 * `arange(n) + n * rank`, its training loaders yield only full batches). Here shards may
 * differ: the offsets are the prefix sums o_r, and the local loss is divided by the global B
 * (times W, which DDP's average undoes) instead of the local n_r. A mean over the local rows
 * would weight a row of a small shard more than a row of a large one, and the averaged gradient
 * would not be the global one.
 *
 * The gather, with and without gradient (src/open_clip/loss.py, `gather_features`):
 *   gatherWithGrad true:  torch.distributed.nn.all_gather. Here `cat`, whose backward hands each
 *                         rank's slice its part of the gradient; summed over the ranks' losses
 *                         (one tape here, a reduce-scatter there) rank r's features receive
 *                         Σ_q ∂L_q/∂I_r, their use as negatives on every other rank included.
 *   gatherWithGrad false: torch.distributed.all_gather into fresh tensors: no gradient to any
 *                         rank. Here a cat of detached copies. open_clip then puts the rank's
 *                         own features back in their slice when localLoss is false (`putBackLocal`
 *                         here, that default), so they get ∂L_r/∂I_r, and nothing from the other
 *                         ranks' losses. What that costs is measured in spec/losses/distributed.spec.ts.
 *
 * Shapes: imageFeatures[q], textFeatures[q] (n_q, D), one per rank; the loss is 0-d.
 *
 * @module
 */
import { Tensor } from "../tensor/tensor.js";
import { cat } from "../ops/indexing.js";
import { crossEntropy, normalize } from "../ops/functional.js";
import { checkSameDtype } from "../ops/util.js";
import { checkOptions } from "../tensor/options.js";
import { checkEmbeddings, checkSameShape } from "./checks.js";
import { resolveClipScale, type ClipLossOptions } from "./clip-loss.js";

/** Options of {@link allGather}. */
export interface AllGatherOptions {
  /** torch.distributed.nn.all_gather (true, default) or torch.distributed.all_gather (false). */
  withGrad?: boolean;
  /** Without gradient: keep this rank's own slice live (open_clip's `gathered[rank] = features`). Default true. */
  keepLocal?: boolean;
}

/**
 * The simulated all_gather of rank `rank`: the W shards concatenated along dim 0, (Σ n_q, D).
 * With gradient it is `cat`, whose backward slices the gradient back to each shard (the
 * reduce-scatter of torch.distributed.nn.all_gather's backward, once the ranks' losses are summed).
 * Without, every shard is a detached copy, except the rank's own when `keepLocal`.
 */
export function allGather(shards: readonly Tensor[], rank: number, options: AllGatherOptions = {}): Tensor {
  checkOptions("allGather", options, { withGrad: true, keepLocal: true });
  checkRank("allGather", rank, shards.length);
  if (options.withGrad ?? true) return cat(shards, 0);
  const keepLocal = options.keepLocal ?? true;
  return cat(shards.map((shard, q) => (q === rank && keepLocal ? shard : shard.detach())), 0);
}

/** Options of {@link distributedClipLoss}: the clip loss's plus the rank layout and open_clip's switches. */
export interface DistributedClipLossOptions extends ClipLossOptions {
  /** W: the number of ranks (must equal the number of shards). */
  worldSize: number;
  /** This rank, 0 ≤ rank < W. */
  rank: number;
  /** open_clip's `local_loss`: the (n_r, B) logits of the local rows only. Default false. */
  localLoss?: boolean;
  /** open_clip's `gather_with_grad`. Default false, as in open_clip. */
  gatherWithGrad?: boolean;
  /** Without gradient: put the local features back into the gathered ones. Default !localLoss (open_clip). */
  putBackLocal?: boolean;
}

/**
 * Rank `rank`'s share of the CLIP loss (formula above): its local features against the gathered
 * ones. `imageFeatures[q]`, `textFeatures[q]` are rank q's (n_q, D) features; the rank reads the
 * others only through the gather. Summed over the ranks and divided by W (as DDP averages the
 * gradients: `dataParallelClipLoss`), it is the global clipLoss, and so are its gradients when
 * `gatherWithGrad` is true.
 */
export function distributedClipLoss(
  imageFeatures: readonly Tensor[],
  textFeatures: readonly Tensor[],
  options: DistributedClipLossOptions,
): Tensor {
  const name = "distributedClipLoss";
  checkOptions(name, options, {
    worldSize: true,
    rank: true,
    localLoss: true,
    gatherWithGrad: true,
    putBackLocal: true,
    temperature: true,
    logitScale: true,
  });
  const { worldSize, rank } = options;
  checkShards(name, imageFeatures, textFeatures, worldSize);
  checkRank(name, rank, worldSize);
  const localLoss = options.localLoss ?? false;
  const gather: AllGatherOptions = { withGrad: options.gatherWithGrad ?? false, keepLocal: options.putBackLocal ?? !localLoss };
  const scaleLogits = logitScaler(name, options, imageFeatures[0]);

  const sizes = imageFeatures.map((shard) => shard.shape[0]); // n_q
  const globalBatch = sizes.reduce((sum, n) => sum + n, 0); // B
  const offset = sizes.slice(0, rank).reduce((sum, n) => sum + n, 0); // o_r: this rank's first global row
  // Normalizing is per row, so each rank normalizes its own features before the gather (as the model does).
  const images = imageFeatures.map((shard) => normalize(shard)); // (n_q, D) each
  const texts = textFeatures.map((shard) => normalize(shard));
  const allImages = allGather(images, rank, gather); // (B, D)
  const allTexts = allGather(texts, rank, gather); // (B, D)

  if (!localLoss) {
    const logitsPerImage = scaleLogits(allImages.matmul(allTexts.t())); // (B, B): the global logits
    const labels = rangeLabels(0, globalBatch);
    return crossEntropy(logitsPerImage, labels).add(crossEntropy(logitsPerImage.t(), labels)).mul(0.5);
  }
  const logitsPerImage = scaleLogits(images[rank].matmul(allTexts.t())); // (n_r, B): local images vs all texts
  const logitsPerText = scaleLogits(texts[rank].matmul(allImages.t())); // (n_r, B): local texts vs all images
  const labels = rangeLabels(offset, sizes[rank]); // row i's pair is global column o_r + i
  const sum = crossEntropy(logitsPerImage, labels, { reduction: "sum" }).add(crossEntropy(logitsPerText, labels, { reduction: "sum" }));
  return sum.mul(0.5 * worldSize / globalBatch); // (W/B)·½Σ: open_clip's local mean when the shards are equal
}

/** The result of {@link dataParallelClipLoss}: each rank's loss and their mean. */
export interface DataParallelClipLoss {
  /** L_r, the loss each rank computes (and logs). */
  rankLosses: Tensor[];
  /** (1/W) Σ_r L_r: its backward leaves DDP's averaged gradients in .grad. */
  loss: Tensor;
}

/**
 * The W ranks of one data-parallel step, in one process: every rank's distributedClipLoss, and
 * their mean. On one tape, backward of the mean is what DDP does: each rank backpropagates its
 * own L_r (the gathers' backward delivering the gradient slices to the ranks that own them),
 * then DDP all-reduces the parameter gradients and divides by W.
 */
export function dataParallelClipLoss(
  imageFeatures: readonly Tensor[],
  textFeatures: readonly Tensor[],
  options: Omit<DistributedClipLossOptions, "rank">,
): DataParallelClipLoss {
  checkOptions("dataParallelClipLoss", options, {
    worldSize: true,
    localLoss: true,
    gatherWithGrad: true,
    putBackLocal: true,
    temperature: true,
    logitScale: true,
  });
  const rankLosses = imageFeatures.map((_, rank) => distributedClipLoss(imageFeatures, textFeatures, { ...options, rank }));
  const loss = rankLosses.reduce((sum, l) => sum.add(l)).div(options.worldSize);
  return { rankLosses, loss };
}

/** similarities ↦ logits: / τ, or · exp(s) (clipLoss's scale options). */
function logitScaler(name: string, options: ClipLossOptions, like: Tensor): (similarities: Tensor) => Tensor {
  const scale = resolveClipScale(name, { temperature: options.temperature, logitScale: options.logitScale }, like);
  if ("logitScale" in scale) {
    const s = scale.logitScale;
    return s instanceof Tensor ? (similarities) => similarities.mul(s.exp()) : (similarities) => similarities.mul(Math.exp(s));
  }
  const temperature = scale.temperature;
  return (similarities) => similarities.div(temperature);
}

/** start, start + 1, …, start + n − 1. */
function rangeLabels(start: number, n: number): Int32Array {
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) labels[i] = start + i;
  return labels;
}

function checkRank(name: string, rank: unknown, worldSize: number): void {
  if (!Number.isInteger(rank) || (rank as number) < 0 || (rank as number) >= worldSize) {
    throw new Error(`${name}: rank must be an integer in [0, ${worldSize}), got ${String(rank)}`);
  }
}

function checkShards(name: string, images: readonly Tensor[], texts: readonly Tensor[], worldSize: unknown): void {
  if (!Array.isArray(images) || !Array.isArray(texts)) {
    throw new Error(`${name}: imageFeatures and textFeatures must be arrays (one shard per rank)`);
  }
  if (!Number.isInteger(worldSize) || (worldSize as number) < 1) {
    throw new Error(`${name}: worldSize must be an integer ≥ 1, got ${String(worldSize)}`);
  }
  if (images.length !== worldSize || texts.length !== worldSize) {
    throw new Error(`${name}: worldSize is ${worldSize} but got ${images.length} image and ${texts.length} text shards`);
  }
  images.forEach((image, q) => {
    checkEmbeddings(name, `imageFeatures[${q}]`, image);
    checkEmbeddings(name, `textFeatures[${q}]`, texts[q]);
    checkSameShape(name, `imageFeatures[${q}]`, image, `textFeatures[${q}]`, texts[q]);
    checkSameDtype(name, "imageFeatures[0]", images[0], `imageFeatures[${q}]`, image);
    checkSameDtype(name, `imageFeatures[${q}]`, image, `textFeatures[${q}]`, texts[q]);
  });
}
