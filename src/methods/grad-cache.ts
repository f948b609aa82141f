/**
 * GradCache: the gradient of a contrastive loss over a batch of N examples, computed with the
 * encoder's activations held for only one sub-batch at a time.
 * Chapter 7.5 ("Batch size"). Source: Gao, Zhang, Han & Callan, "Scaling Deep Contrastive
 * Learning Batch Size under Memory Limited Setup", RepL4NLP 2021, §3.
 *
 * A contrastive loss couples every example to every other one, so the batch cannot simply be
 * split into sub-batches whose gradients are added (gradient accumulation would drop the
 * negatives of the other sub-batches). But the coupling lives only in the loss, not the encoder:
 * with embeddings z_i = f_θ(x_i),
 *
 *   ∂L/∂θ = Σ_i (∂L/∂z_i) · ∂z_i/∂θ                                  (chain rule)
 *
 * and ∂L/∂z_i needs only the embeddings, not the activations. So, for chunks x^(1) … x^(C):
 *
 *   1. no-grad forward of every chunk:       z^(c) = f_θ(x^(c)),  z = cat(z^(1) … z^(C))    (N, D)
 *   2. the loss on z as a detached leaf:      L(z), backward → u = ∂L/∂z                       (N, D)
 *                                             (and ∂L/∂τ for a learnable temperature in the loss)
 *   3. per chunk, a forward with grad and a backward seeded with the cached slice:
 *                                             z^(c) = f_θ(x^(c)),  z^(c).backward(u^(c))
 *      each adds u^(c) · ∂z^(c)/∂θ (a vector–Jacobian product) to the parameters' .grad,
 *      so after the last chunk .grad holds Σ_c u^(c) · ∂z^(c)/∂θ = ∂L/∂θ.
 *
 * Cost: one extra forward per chunk (≈ +33% compute for a forward:backward of 1:2). Memory: the
 * N × D embeddings plus one chunk's activations, instead of N examples' activations. The loss
 * itself still builds its N × N logits; pair GradCache with tiledInfoNCE / tiledClipLoss
 * (src/losses/tiled-info-nce.ts) to bound that too.
 *
 * Exactness: step 3 must recompute exactly the z of step 1, and z_i must depend on x_i alone.
 *   - Batch-dependent layers break the second condition: BatchNorm in training mode normalizes
 *     each chunk with that chunk's statistics, so the gradient is that of a different model (and
 *     its running statistics are updated twice per chunk). GradCache is exact for encoders
 *     without batch-dependent layers (Linear, ReLU, LayerNorm, attention within one example) or
 *     with BatchNorm in eval mode.
 *   - Randomness breaks the first: pass every Generator the forward draws from (dropout) in
 *     `generators`; their states are saved before each chunk's first forward and restored before
 *     its re-forward (the GradCache repo's RandContext). With `checkDeterminism` (default on)
 *     the re-forward is compared with the cached embedding and a mismatch throws.
 *
 * Shapes: each tower's forward maps one chunk to (n_c, D_t); the loss receives one (N_t, D_t)
 * tensor per tower, the chunks' embeddings concatenated in order.
 *
 * PyTorch: the `grad_cache` package (luyug/GradCache): `GradCache(models=[model_q, model_p],
 * chunk_sizes=…, loss_fn=…)(query_batch, passage_batch)` does steps 1–3 (`forward_no_grad`,
 * `build_cache`, `forward_backward`) and leaves the gradients in the models' .grad; its loss_fn
 * also receives one concatenated tensor per model. Its step 3 backpropagates the surrogate
 * torch.dot(reps.flatten(), cached_grad.flatten()), the same vector–Jacobian product as
 * `z.backward(u)` here; its functional form is the `@cached` / `@cat_input_tensor` decorators.
 * Here a tower is { forward, chunks }; a tied encoder is the same forward in two towers.
 *
 * @module
 */
import { Tensor } from "../tensor/tensor.js";
import { shapeToString } from "../tensor/shape.js";
import { zerosLike } from "../tensor/creation.js";
import type { Generator } from "../tensor/random.js";
import { enableGrad, noGrad } from "../autograd/tape.js";
import { cat } from "../ops/indexing.js";
import { contiguousData, requireTensor } from "../ops/util.js";
import { checkOptions } from "../tensor/options.js";

/** One encoder and its sub-batches. `forward` maps one chunk to its (n_c, D) embeddings. */
export interface GradCacheTower<Chunk = Tensor> {
  /** Embed one chunk: (n_c, …) → (n_c, D). */
  forward(chunk: Chunk): Tensor;
  /** The sub-batches, in order; their embeddings are concatenated along dim 0. */
  chunks: readonly Chunk[];
}

interface GradCacheCommon {
  /** The loss of the full batch, from one (N_t, D_t) embedding tensor per tower. */
  loss: (embeddings: Tensor[]) => Tensor;
  /** Generators the forwards draw from (dropout): replayed so that the re-forward is identical. */
  generators?: readonly Generator[];
  /** Compare each re-forward with the cached embeddings and throw on a difference (default true). */
  checkDeterminism?: boolean;
}

/** Options of {@link gradCache}: one tower (`forward` and `chunks`) or several (`towers`), and the full-batch loss. */
export type GradCacheOptions<Chunk = Tensor> =
  | (GradCacheCommon & {
    /** Several encoders (e.g. CLIP's image and text towers), each with its chunks. */
    towers: readonly GradCacheTower<unknown>[];
  })
  | (GradCacheCommon & GradCacheTower<Chunk>);

/** What {@link gradCache} returns: the loss value, the cached embeddings and their gradients. */
export interface GradCacheResult {
  /** The loss value of the full batch. */
  loss: number;
  /** Per tower, the (N_t, D_t) embeddings of the no-grad forward (detached). */
  embeddings: Tensor[];
  /** Per tower, ∂L/∂z (N_t, D_t): the cached gradients that step 3 backpropagated. */
  embeddingGrads: Tensor[];
}

/**
 * Accumulate ∂L/∂θ of the full-batch loss into the .grad of every parameter reached by the
 * towers' forwards (and of any learnable tensor the loss uses, e.g. a logit scale), holding one
 * chunk's graph at a time. Like backward(), it adds to existing gradients: call zeroGrad() first.
 *
 *   gradCache({ forward: (x) => encoder.forward(x), chunks: splitInputs(x, 64), loss: ([z]) => … })
 *   gradCache({ towers: [{ forward: image, chunks: imageChunks }, { forward: text, chunks: textChunks }],
 *               loss: ([imageZ, textZ]) => tiledClipLoss(imageZ, textZ, { logitScale }) })
 */
export function gradCache<Chunk = Tensor>(options: GradCacheOptions<Chunk>): GradCacheResult {
  checkOptions("gradCache", options, { loss: true, generators: true, checkDeterminism: true, towers: true, forward: true, chunks: true });
  const towers: readonly GradCacheTower<unknown>[] = "towers" in options ? options.towers : [options as GradCacheTower<unknown>];
  if (!(towers?.length > 0)) throw new Error("gradCache: need at least one tower { forward, chunks }");
  towers.forEach((tower, t) => {
    if (typeof tower?.forward !== "function") throw new Error(`gradCache: tower ${t} has no forward function`);
    if (!Array.isArray(tower.chunks) || tower.chunks.length === 0) {
      throw new Error(`gradCache: tower ${t} has no chunks (a non-empty array)`);
    }
  });
  if (typeof options.loss !== "function") throw new Error("gradCache: loss must be a function (embeddings: Tensor[]) => Tensor");
  const generators = options.generators ?? [];
  const checkDeterminism = options.checkDeterminism ?? true;

  // 1. No-grad forward of every chunk; remember the random state each one started from.
  const startStates: number[][][][] = towers.map(() => []);
  const chunkSizes: number[][] = towers.map(() => []);
  const embeddings = towers.map((tower, t) => {
    const outputs = tower.chunks.map((chunk, c) => {
      startStates[t][c] = generators.map((generator) => generator.getState());
      const z = noGrad(() => tower.forward(chunk)); // (n_c, D)
      checkChunkEmbedding(z, t, c);
      chunkSizes[t][c] = z.shape[0];
      return z;
    });
    outputs.forEach((z, c) => {
      if (z.shape[1] !== outputs[0].shape[1] || z.dtype !== outputs[0].dtype) {
        throw new Error(
          `gradCache: tower ${t} chunk ${c} gives ${z.dtype} ${shapeToString(z.shape)} but chunk 0 gives ${outputs[0].dtype} ${
            shapeToString(outputs[0].shape)
          }`,
        );
      }
    });
    const all = noGrad(() => cat(outputs, 0)); // (N_t, D)
    return all.detach().requiresGrad_(); // a leaf: the loss's backward stops here
  });
  const endStates = generators.map((generator) => generator.getState());

  // 2. The loss on the cached embeddings; its backward fills u = ∂L/∂z (and the loss's own parameters).
  const loss = enableGrad(() => options.loss(embeddings));
  requireTensor("gradCache", loss, "the value returned by loss");
  if (loss.numel() !== 1) throw new Error(`gradCache: loss must return a scalar, got shape ${shapeToString(loss.shape)}`);
  const lossValue = loss.item();
  if (loss.requiresGrad) loss.backward();
  const embeddingGrads = embeddings.map((z) => z.grad ?? zerosLike(z)); // (N_t, D_t) each

  // 3. Per chunk: forward with grad, then backward seeded with the cached slice u^(c).
  towers.forEach((tower, t) => {
    if (embeddings[t].grad === null) return; // the loss does not depend on this tower
    let start = 0;
    tower.chunks.forEach((chunk, c) => {
      const size = chunkSizes[t][c];
      generators.forEach((generator, k) => generator.setState(startStates[t][c][k]));
      const z = enableGrad(() => tower.forward(chunk)); // (n_c, D), this time with its graph
      const cached = noGrad(() => embeddings[t].narrow(0, start, size)); // (n_c, D)
      if (checkDeterminism) checkSameValues(z, cached, t, c);
      const cachedGrad = noGrad(() => embeddingGrads[t].narrow(0, start, size).contiguous()); // u^(c)  (n_c, D)
      if (z.requiresGrad) z.backward(cachedGrad); // += u^(c) · ∂z^(c)/∂θ
      start += size;
    });
  });
  generators.forEach((generator, k) => generator.setState(endStates[k]));

  return { loss: lossValue, embeddings: embeddings.map((z) => z.detach()), embeddingGrads };
}

/**
 * Split a batch along its first dim into chunks of `chunkSize` rows (the last may be smaller),
 * as torch.split(x, chunk_size) and GradCache's `split_inputs`. The chunks are views, no copy.
 */
export function splitInputs(x: Tensor, chunkSize: number): Tensor[] {
  requireTensor("splitInputs", x, "x");
  if (!Number.isInteger(chunkSize) || chunkSize < 1) throw new Error(`splitInputs: chunkSize must be a whole number ≥ 1, got ${chunkSize}`);
  if (x.ndim === 0 || x.shape[0] === 0) {
    throw new Error(`splitInputs: x must have a non-empty first dim, got shape ${shapeToString(x.shape)}`);
  }
  const chunks: Tensor[] = [];
  for (let start = 0; start < x.shape[0]; start += chunkSize) {
    chunks.push(x.narrow(0, start, Math.min(chunkSize, x.shape[0] - start))); // (≤ chunkSize, …)
  }
  return chunks;
}

function checkChunkEmbedding(z: unknown, tower: number, chunk: number): void {
  requireTensor("gradCache", z, `the forward's output for tower ${tower} chunk ${chunk}`);
  const t = z as Tensor;
  if (t.ndim !== 2 || t.shape[0] === 0) {
    throw new Error(
      `gradCache: tower ${tower} chunk ${chunk}: forward must return (n, D) embeddings with n ≥ 1, got shape ${shapeToString(t.shape)}`,
    );
  }
}

function checkSameValues(recomputed: Tensor, cached: Tensor, tower: number, chunk: number): void {
  if (recomputed.shape[0] !== cached.shape[0] || recomputed.shape[1] !== cached.shape[1]) {
    throw new Error(
      `gradCache: tower ${tower} chunk ${chunk}: the re-forward gives shape ${shapeToString(recomputed.shape)}, the first forward ${
        shapeToString(cached.shape)
      }`,
    );
  }
  const a = contiguousData(recomputed);
  const b = recomputed.isContiguous() && cached.isContiguous() ? contiguousData(cached) : { data: cached.toTypedArray(), offset: 0 };
  let worst = 0;
  for (let i = 0; i < recomputed.numel(); i++) worst = Math.max(worst, Math.abs(a.data[a.offset + i] - b.data[b.offset + i]));
  if (worst !== 0) {
    throw new Error(
      `gradCache: tower ${tower} chunk ${chunk}: the re-forward differs from the first forward (max |Δ| = ${worst}); ` +
        "the forward is not deterministic: pass the generators it draws from (dropout) in `generators`, or set checkDeterminism: false",
    );
  }
}
