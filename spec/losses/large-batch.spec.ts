/**
 * Large batches (docs/large-batches.md): the tiled, memory-bounded InfoNCE and CLIP losses are the
 * dense ones (same value, same gradients, to float64 rounding) and never allocate an N × N
 * buffer; GradCache leaves in .grad the full-batch gradient of the parameters.
 * Self-contained: imports the tensor layer, src/losses, src/nn files and src/methods/grad-cache.ts.
 */
import { expect } from "chai";
import fc from "fast-check";
import { readFileSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { Tensor, type DType } from "../../src/tensor/tensor.js";
import { randn, tensor } from "../../src/tensor/creation.js";
import { Generator } from "../../src/tensor/random.js";
import { gradcheck } from "../../src/autograd/gradcheck.js";
import { infoNCE, ntXent, clipLoss, tiledInfoNCE, tiledClipLoss } from "../../src/losses/index.js";
import { Sequential } from "../../src/nn/container.js";
import { Linear } from "../../src/nn/linear.js";
import { ReLU } from "../../src/nn/activation.js";
import { Dropout } from "../../src/nn/dropout.js";
import { BatchNorm1d } from "../../src/nn/batchnorm.js";
import type { Module } from "../../src/nn/module.js";
import { gradCache, splitInputs } from "../../src/methods/grad-cache.js";

/** The compiled spec sits at <build>/spec/losses/: the repository root is three levels up. */
const repoFile = (path: string): URL => new URL(`../../../${path}`, import.meta.url);
/** A compiled module of src/, next to this compiled spec. */
const builtModule = (path: string): string => new URL(`../../src/${path}`, import.meta.url).href;

// ---- helpers ----------------------------------------------------------------------------------

/** max |a − b| / max |b|: the error relative to the expected tensor's scale (robust where b ≈ 0). */
function relativeError(actual: Tensor | null, expected: Tensor | null): number {
  expect(actual, "missing gradient").to.not.equal(null);
  expect(expected, "missing expected gradient").to.not.equal(null);
  const a = actual!.toTypedArray();
  const b = expected!.toTypedArray();
  expect(a.length).to.equal(b.length);
  let difference = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    difference = Math.max(difference, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return scale === 0 ? difference : difference / scale;
}

/** Two independent float64 leaves with the same values. */
function leafPair(shape: number[], generator: Generator, dtype: DType = "float64"): [Tensor, Tensor] {
  const values = randn(shape, generator, { dtype }).toTypedArray();
  return [Tensor.fromTypedArray(values.slice(), shape, true), Tensor.fromTypedArray(values.slice(), shape, true)];
}

/** max |a − b| / max(max |b|, scale): the error relative to the expected values or to a natural scale. */
function errorAtScale(actual: Tensor, expected: Tensor, scale: number): number {
  const a = actual.toTypedArray();
  const b = expected.toTypedArray();
  let difference = 0;
  let largest = scale;
  for (let i = 0; i < a.length; i++) {
    difference = Math.max(difference, Math.abs(a[i] - b[i]));
    largest = Math.max(largest, Math.abs(b[i]));
  }
  return difference / largest;
}

function scalarLeaf(value: number): Tensor {
  return tensor(value, { dtype: "float64", requiresGrad: true });
}

/** Parameters of `module` after `run()`, as an array of .grad copies (zeroing first). */
function gradientsAfter(modules: Module[], run: () => void): Tensor[] {
  modules.forEach((m) => m.zeroGrad());
  run();
  return modules.flatMap((m) =>
    m.parameters().map((p) => {
      expect(p.grad, "a parameter received no gradient").to.not.equal(null);
      return p.grad!.clone();
    })
  );
}

function mlp(inFeatures: number, hidden: number, outFeatures: number, generator: Generator, dtype: DType = "float64"): Sequential {
  return new Sequential(
    new Linear(inFeatures, hidden, { generator, dtype }),
    new ReLU(),
    new Linear(hidden, outFeatures, { generator, dtype }),
  );
}

/** The largest typed array (in elements) constructed while `run` executes, via a hook on the constructors. */
function largestAllocationDuring(run: () => void): number {
  const original32 = globalThis.Float32Array;
  const original64 = globalThis.Float64Array;
  let largest = 0;
  const watch = <C extends Float32ArrayConstructor | Float64ArrayConstructor>(constructor: C): C =>
    new Proxy(constructor, {
      construct(target, args) {
        const first = args[0] as unknown;
        const elements = typeof first === "number" ?
          first
          : first instanceof ArrayBuffer ?
          (args[2] as number | undefined) ?? (first.byteLength - ((args[1] as number | undefined) ?? 0)) / target.BYTES_PER_ELEMENT
          : (first as ArrayLike<number> | undefined)?.length ?? 0;
        largest = Math.max(largest, elements);
        return Reflect.construct(target, args);
      },
    });
  globalThis.Float32Array = watch(original32);
  globalThis.Float64Array = watch(original64);
  try {
    run();
  } finally {
    globalThis.Float32Array = original32;
    globalThis.Float64Array = original64;
  }
  return largest;
}

// ---- tiledInfoNCE -------------------------------------------------------------------------------

describe("large batches: tiledInfoNCE (memory-bounded exact InfoNCE)", () => {
  it("equals infoNCE (in-batch) in value and gradients for random N, D, τ, reductions and tile sizes (float64, 1e-12)", () => {
    const caseArb = fc.integer({ min: 1, max: 13 }).chain((n) =>
      fc.record({
        n: fc.constant(n),
        d: fc.integer({ min: 1, max: 6 }),
        // 1, sizes that divide N or not, N itself and larger than N
        tileSize: fc.oneof(fc.constant(1), fc.integer({ min: 1, max: n + 3 }), fc.constant(n)),
        temperature: fc.double({ min: 0.05, max: 2, noNaN: true }),
        reduction: fc.constantFrom("mean" as const, "sum" as const, "none" as const),
        seed: fc.integer({ min: 0, max: 1 << 30 }),
      })
    );
    fc.assert(
      fc.property(caseArb, ({ n, d, tileSize, temperature, reduction, seed }) => {
        const generator = new Generator(seed);
        const [query, queryRef] = leafPair([n, d], generator);
        const [key, keyRef] = leafPair([n, d], generator);
        const weights = randn(reduction === "none" ? [n] : [], generator, { dtype: "float64" }); // a random upstream gradient
        const tiled = tiledInfoNCE(query, key, { temperature, tileSize, reduction });
        const dense = infoNCE(queryRef, keyRef, null, { temperature, reduction });
        expect(tiled.shape).to.deep.equal(dense.shape);
        expect(relativeError(tiled, dense)).to.be.at.most(1e-12);
        tiled.backward(weights);
        dense.backward(weights);
        expect(relativeError(query.grad, queryRef.grad), "∂L/∂query").to.be.at.most(1e-12);
        expect(relativeError(key.grad, keyRef.grad), "∂L/∂key").to.be.at.most(1e-12);
      }),
      {
        numRuns: 80,
        seed: 20240501,
        examples: [
          [{ n: 7, d: 3, tileSize: 1, temperature: 0.1, reduction: "mean", seed: 1 }], // one logit per block
          [{ n: 7, d: 3, tileSize: 64, temperature: 0.1, reduction: "mean", seed: 2 }], // one block
          [{ n: 9, d: 4, tileSize: 4, temperature: 0.07, reduction: "mean", seed: 3 }], // a ragged last tile
          [{ n: 1, d: 2, tileSize: 1, temperature: 0.5, reduction: "mean", seed: 4 }], // loss 0, no negatives
        ],
      },
    );
  });

  it("passes gradcheck (float64 central differences), mean and per-row outputs", () => {
    const generator = new Generator(11);
    for (const [reduction, tileSize] of [["mean", 2], ["none", 3], ["sum", 1]] as const) {
      const query = randn([5, 3], generator, { dtype: "float64", requiresGrad: true });
      const key = randn([5, 3], generator, { dtype: "float64", requiresGrad: true });
      gradcheck((q, k) => tiledInfoNCE(q, k, { temperature: 0.3, tileSize, reduction }), [query, key]);
    }
  });

  it("is stable at τ = 0.01: finite, equal to infoNCE in float64, and float32 close to float64", () => {
    const generator = new Generator(5);
    const n = 48;
    const d = 8;
    const temperature = 0.01;
    const base = randn([n, d], generator, { dtype: "float64" });
    // keys: noisy copies of the queries, so the positives dominate (logits near 100, losses near 0) …
    const aligned = base.add(randn([n, d], generator, { dtype: "float64" }).mul(0.05));
    // … and unrelated keys (losses of tens)
    const unrelated = randn([n, d], generator, { dtype: "float64" });
    // ℓ_i = lse_i − l_ii subtracts two numbers near 1/τ = 100, in both implementations: errors are
    // measured against that scale (ulp(100) = 1.4e-14), and the gradients against theirs, 1/(Nτ).
    const lossScale = 1 / temperature;
    const gradientScale = 1 / (n * temperature);
    for (const keys of [aligned, unrelated]) {
      const run = (dtype: DType, tiled: boolean) => {
        const query = base.to(dtype).detach().requiresGrad_();
        const key = keys.to(dtype).detach().requiresGrad_();
        const loss = tiled ? tiledInfoNCE(query, key, { temperature, tileSize: 10 }) : infoNCE(query, key, null, { temperature });
        loss.backward();
        return [loss, query.grad!, key.grad!].map((t) => t.to("float64"));
      };
      const f64 = run("float64", true);
      const reference = run("float64", false);
      const f32 = run("float32", true);
      for (const t of [...f64, ...f32]) expect(t.toTypedArray().every(Number.isFinite)).to.equal(true);
      const scales = [lossScale, gradientScale, gradientScale];
      f64.forEach((t, k) => expect(errorAtScale(t, reference[k], scales[k]), `float64 vs infoNCE, output ${k}`).to.be.at.most(1e-12));
      f32.forEach((t, k) => expect(errorAtScale(t, f64[k], scales[k]), `float32 vs float64, output ${k}`).to.be.at.most(1e-5));
    }
  });

  it("rejects bad arguments with the loss's name", () => {
    const x = randn([4, 3], new Generator(1), { dtype: "float64" });
    expect(() => tiledInfoNCE(x, x, { tileSize: 0 })).to.throw(/^tiledInfoNCE: tileSize must be a whole number ≥ 1, got 0/);
    expect(() => tiledInfoNCE(x, x, { tileSize: 2.5 })).to.throw(/^tiledInfoNCE: tileSize/);
    expect(() => tiledInfoNCE(x, x.narrow(0, 0, 3))).to.throw(/^tiledInfoNCE: query has shape \[4, 3\] but key has shape \[3, 3\]/);
    expect(() => tiledInfoNCE(x, x, { temperature: 0 })).to.throw(/^tiledInfoNCE: temperature/);
    expect(() => tiledClipLoss(x, x, { temperature: 0.1, logitScale: 1 })).to.throw(
      /^tiledClipLoss: pass temperature or logitScale, not both/,
    );
    expect(() => tiledClipLoss(x, x, { logitScale: tensor([1, 2], { dtype: "float64" }) })).to.throw(
      /^tiledClipLoss: logitScale must be a 0-d tensor/,
    );
  });
});

// ---- tiledClipLoss ------------------------------------------------------------------------------

describe("large batches: tiledClipLoss (memory-bounded exact CLIP loss)", () => {
  type Scale = "fixed" | "temperature" | "logitScale";
  const options = (kind: Scale, leaf: Tensor | null) =>
    kind === "fixed" ? { temperature: 0.07 } : kind === "temperature" ? { temperature: leaf! } : { logitScale: leaf! };

  it("equals clipLoss in value and all gradients, including a learnable τ or logit scale (float64, 1e-12)", () => {
    const caseArb = fc.integer({ min: 1, max: 12 }).chain((n) =>
      fc.record({
        n: fc.constant(n),
        d: fc.integer({ min: 1, max: 5 }),
        tileSize: fc.oneof(fc.constant(1), fc.integer({ min: 1, max: n + 3 })),
        scale: fc.constantFrom<Scale>("fixed", "temperature", "logitScale"),
        seed: fc.integer({ min: 0, max: 1 << 30 }),
      })
    );
    fc.assert(
      fc.property(caseArb, ({ n, d, tileSize, scale, seed }) => {
        const generator = new Generator(seed);
        const [image, imageRef] = leafPair([n, d], generator);
        const [text, textRef] = leafPair([n, d], generator);
        const start = scale === "temperature" ? generator.uniform(0.03, 1) : generator.uniform(0, Math.log(100));
        const learnable = scale === "fixed" ? null : scalarLeaf(start);
        const learnableRef = scale === "fixed" ? null : scalarLeaf(start);
        const tiled = tiledClipLoss(image, text, { ...options(scale, learnable), tileSize });
        const dense = clipLoss(imageRef, textRef, options(scale, learnableRef));
        // Errors at the scale of the terms that cancel (as in the τ = 0.01 test above): the loss is
        // lse − l_ii ≈ s − s, ∂L/∂features sums terms of size s/N, ∂L/∂s terms of size 1 (∂L/∂τ = −∂L/∂s/τ²,
        // ∂L/∂logitScale = s·∂L/∂s). When the positives dominate, the result is far smaller than its
        // terms and both implementations are exact only to ε × the terms (an mpmath reference finds
        // both 3·10⁻¹⁰ off relative to such a gradient); a wrong factor is still off by the whole gradient.
        const s = scale === "temperature" ? 1 / start : scale === "logitScale" ? Math.exp(start) : 1 / 0.07;
        const scaleOfScaleGrad = scale === "temperature" ? s * s : s;
        expect(errorAtScale(tiled, dense, s)).to.be.at.most(1e-12);
        tiled.backward();
        dense.backward();
        expect(errorAtScale(image.grad!, imageRef.grad!, s / n), "∂L/∂image").to.be.at.most(1e-12);
        expect(errorAtScale(text.grad!, textRef.grad!, s / n), "∂L/∂text").to.be.at.most(1e-12);
        if (learnable !== null) {
          expect(errorAtScale(learnable.grad!, learnableRef!.grad!, scaleOfScaleGrad), `∂L/∂${scale}`).to.be.at.most(1e-12);
        }
      }),
      {
        numRuns: 60,
        seed: 20240502,
        examples: [[{ n: 8, d: 3, tileSize: 3, scale: "logitScale", seed: 9 }], [{
          n: 5,
          d: 2,
          tileSize: 9,
          scale: "temperature",
          seed: 8,
        }]],
      },
    );
  });

  it("passes gradcheck (float64) for the features, a learnable temperature and a learnable logit scale", () => {
    const generator = new Generator(12);
    const image = randn([5, 3], generator, { dtype: "float64", requiresGrad: true });
    const text = randn([5, 3], generator, { dtype: "float64", requiresGrad: true });
    gradcheck((i, t, tau) => tiledClipLoss(i, t, { temperature: tau, tileSize: 2 }), [image, text, scalarLeaf(0.2)]);
    gradcheck((i, t, s) => tiledClipLoss(i, t, { logitScale: s, tileSize: 3 }), [image, text, scalarLeaf(Math.log(1 / 0.3))]);
  });

  it("is finite at τ = 0.01 (logit scale log 100, CLIP's clamp) in float32 and close to float64", () => {
    const generator = new Generator(6);
    const image = randn([40, 8], generator, { dtype: "float64" });
    const text = image.add(randn([40, 8], generator, { dtype: "float64" }).mul(0.05));
    const run = (dtype: DType) => {
      const s = tensor(Math.log(100), { dtype, requiresGrad: true });
      const i = image.to(dtype).detach().requiresGrad_();
      const loss = tiledClipLoss(i, text.to(dtype), { logitScale: s, tileSize: 16 });
      loss.backward();
      return [loss, i.grad!, s.grad!].map((t) => t.to("float64"));
    };
    const [f32, f64] = [run("float32"), run("float64")];
    f32.forEach((t, k) => {
      expect(t.toTypedArray().every(Number.isFinite)).to.equal(true);
      expect(relativeError(t, f64[k])).to.be.at.most(1e-4);
    });
  });
});

// ---- memory ------------------------------------------------------------------------------------

describe("large batches: memory at N = 4096 (float32)", () => {
  const n = 4096;
  const d = 16;
  const tileSize = 64;
  const squareElements = n * n; // 16.8 M: 64 MiB as float32

  it(
    "tiledInfoNCE and tiledClipLoss allocate no typed array larger than N·max(D, T) = N²/64, " +
      "forward and backward (constructor hook)",
    () => {
      const generator = new Generator(3);
      const query = randn([n, d], generator).requiresGrad_();
      const key = randn([n, d], generator).requiresGrad_();
      const logitScale = tensor(Math.log(1 / 0.07), { requiresGrad: true });
      // Warm-up outside the hook: the GEMM's wasm kernel allocates its fixed-size scratch memory once, on its first call.
      tiledClipLoss(randn([2 * tileSize, d], generator).requiresGrad_(), randn([2 * tileSize, d], generator), { tileSize }).backward();
      const largestInfoNCE = largestAllocationDuring(() => tiledInfoNCE(query, key, { tileSize }).backward());
      const largestClip = largestAllocationDuring(() => tiledClipLoss(query, key, { logitScale, tileSize }).backward());
      // The biggest buffers are the (N, D) normalized inputs and gradients (N·D = N²/256) and the T × T block.
      expect(largestInfoNCE).to.be.at.most(n * Math.max(d, tileSize));
      expect(largestClip).to.be.at.most(n * Math.max(d, tileSize));
      expect(n * Math.max(d, tileSize)).to.equal(squareElements / 64);
      expect(query.grad!.toTypedArray().every(Number.isFinite)).to.equal(true);
      expect(logitScale.grad!.item()).to.satisfy(Number.isFinite);
      // The hook sees an N × N buffer when there is one: the dense loss at a small N.
      const small = randn([256, d], generator).requiresGrad_();
      const largestDense = largestAllocationDuring(() => infoNCE(small, small, null).backward());
      expect(largestDense).to.be.at.least(256 * 256);
    },
  );

  it(
    "the peak RSS growth of a tiledInfoNCE forward + backward is a fraction of infoNCE's, " +
      "which exceeds N²·4 bytes (child processes)",
    function() {
      this.timeout(60_000);
      /** Run one forward + backward at batch size `rows` in a fresh process; its peak RSS minus its RSS just before. */
      const peakGrowth = (loss: "tiled" | "dense", rows: number): number => {
        const call = loss === "tiled" ? `tiledInfoNCE(q, k, { tileSize: ${tileSize} })` : "infoNCE(q, k, null)";
        const script = `
        const { Generator, randn, infoNCE, tiledInfoNCE } = await import(${JSON.stringify(builtModule("index.js"))});
        const run = (q, k) => ${call}.backward();
        const generator = new Generator(3);
        const query = randn([${rows}, ${d}], generator).requiresGrad_();
        const key = randn([${rows}, ${d}], generator).requiresGrad_();
        // load the modules and let the JIT compile the hot loops first: its memory is not the loss's
        for (let i = 0; i < 3; i++) run(randn([256, ${d}], generator).requiresGrad_(), randn([256, ${d}], generator).requiresGrad_());
        // The peak: VmHWM of /proc/self/status where there is one (Linux). getrusage's maxRSS survives
        // exec, so it can hold the parent's (the spec runner's) peak; VmHWM belongs to this process alone.
        const { existsSync, readFileSync } = await import("node:fs");
        const peak = () => existsSync("/proc/self/status")
          ? parseInt(readFileSync("/proc/self/status", "utf8").split("VmHWM:")[1], 10) * 1024
          : process.resourceUsage().maxRSS * 1024;
        globalThis.gc();
        const before = process.memoryUsage().rss;
        run(query, key);
        console.log(peak() - before);`;
        const output = execFileSync(process.execPath, ["--expose-gc", "--input-type=module", "-e", script], { encoding: "utf8" });
        return Number(output.trim().split("\n").pop());
      };
      // maxRSS is a high-water mark: peak − RSS-before bounds the call's growth from above (an earlier peak only inflates it).
      // RSS also holds garbage the collector has not reclaimed yet (how much depends on GC timing and the
      // machine's load), so the absolute bound is the allocation hook's (the test above); here the two
      // losses are compared at the same N: the dense one holds several N×N buffers, the tiled one none.
      const tiled = peakGrowth("tiled", n);
      const dense = peakGrowth("dense", n);
      expect(dense, `infoNCE at N = ${n} grew ${(dense / 2 ** 20).toFixed(1)} MiB`).to.be.above(squareElements * 4);
      expect(tiled, `tiledInfoNCE at N = ${n} grew ${(tiled / 2 ** 20).toFixed(1)} MiB, infoNCE ${(dense / 2 ** 20).toFixed(1)} MiB`).to.be
        .below(dense / 3);
    },
  );
});

// ---- GradCache ----------------------------------------------------------------------------------

describe("large batches: gradCache (GradCache, Gao et al. 2021)", () => {
  it("one MLP encoder, two views, NT-Xent, 4 sub-batches: parameter gradients = the full batch's (float64, 1e-12)", () => {
    const generator = new Generator(21);
    const encoder = mlp(6, 16, 5, generator);
    const view1 = randn([24, 6], generator, { dtype: "float64" });
    const view2 = randn([24, 6], generator, { dtype: "float64" });
    let fullLoss = 0;
    const full = gradientsAfter([encoder], () => {
      const loss = ntXent(encoder.forward(view1), encoder.forward(view2), { temperature: 0.2 });
      fullLoss = loss.item();
      loss.backward();
    });
    let cachedLoss = 0;
    const cached = gradientsAfter([encoder], () => {
      const forward = (x: Tensor) => encoder.forward(x);
      cachedLoss = gradCache({
        towers: [{ forward, chunks: splitInputs(view1, 6) }, { forward, chunks: splitInputs(view2, 6) }],
        loss: ([z1, z2]) => ntXent(z1, z2, { temperature: 0.2 }),
      }).loss;
    });
    expect(splitInputs(view1, 6)).to.have.length(4);
    expect(cachedLoss).to.be.closeTo(fullLoss, 1e-12 * Math.abs(fullLoss));
    cached.forEach((g, k) => expect(relativeError(g, full[k]), `parameter ${k}`).to.be.at.most(1e-12));
  });

  it("query and key encoders, in-batch InfoNCE, uneven sub-batches (4, 4, 4, 2): gradients = the full batch's", () => {
    const generator = new Generator(22);
    const queryEncoder = mlp(5, 12, 4, generator);
    const keyEncoder = mlp(5, 12, 4, generator);
    const queries = randn([14, 5], generator, { dtype: "float64" });
    const keys = randn([14, 5], generator, { dtype: "float64" });
    const encoders = [queryEncoder, keyEncoder];
    const full = gradientsAfter(
      encoders,
      () => infoNCE(queryEncoder.forward(queries), keyEncoder.forward(keys), null, { temperature: 0.1 }).backward(),
    );
    const cached = gradientsAfter(encoders, () => {
      const result = gradCache({
        towers: [
          { forward: (x: Tensor) => queryEncoder.forward(x), chunks: splitInputs(queries, 4) },
          { forward: (x: Tensor) => keyEncoder.forward(x), chunks: splitInputs(keys, 4) },
        ],
        loss: ([q, k]) => tiledInfoNCE(q, k, { temperature: 0.1, tileSize: 3 }),
      });
      expect(result.embeddings.map((z) => z.shape)).to.deep.equal([[14, 4], [14, 4]]);
    });
    cached.forEach((g, k) => expect(relativeError(g, full[k]), `parameter ${k}`).to.be.at.most(1e-12));
  });

  it("two-tower CLIP with a learnable logit scale: tower and logit-scale gradients = full-batch clipLoss's", () => {
    const generator = new Generator(23);
    const imageTower = mlp(7, 10, 4, generator);
    const textTower = mlp(3, 10, 4, generator);
    const images = randn([16, 7], generator, { dtype: "float64" });
    const texts = randn([16, 3], generator, { dtype: "float64" });
    const logitScale = scalarLeaf(Math.log(1 / 0.07));
    const withScale = (run: () => void): Tensor[] => {
      logitScale.grad = null;
      const grads = gradientsAfter([imageTower, textTower], run);
      return [...grads, logitScale.grad!.clone()];
    };
    const full = withScale(() => clipLoss(imageTower.forward(images), textTower.forward(texts), { logitScale }).backward());
    const cached = withScale(() =>
      gradCache({
        towers: [
          { forward: (x: Tensor) => imageTower.forward(x), chunks: splitInputs(images, 4) },
          { forward: (x: Tensor) => textTower.forward(x), chunks: splitInputs(texts, 4) },
        ],
        loss: ([imageEmbeddings, textEmbeddings]) => tiledClipLoss(imageEmbeddings, textEmbeddings, { logitScale, tileSize: 5 }),
      })
    );
    expect(cached).to.have.length(full.length);
    cached.forEach((g, k) =>
      expect(relativeError(g, full[k]), k === full.length - 1 ? "logit scale" : `parameter ${k}`).to.be.at.most(1e-12)
    );
  });

  it("is exact with BatchNorm in eval mode, and not in training mode (per-sub-batch statistics)", () => {
    const generator = new Generator(24);
    const encoder = new Sequential(
      new Linear(4, 8, { generator, dtype: "float64" }),
      new BatchNorm1d(8, { dtype: "float64" }),
      new ReLU(),
      new Linear(8, 3, { generator, dtype: "float64" }),
    );
    const x1 = randn([16, 4], generator, { dtype: "float64" });
    const x2 = randn([16, 4], generator, { dtype: "float64" });
    const forward = (x: Tensor) => encoder.forward(x);
    const compare = (): number => {
      const full = gradientsAfter([encoder], () => infoNCE(encoder.forward(x1), encoder.forward(x2), null).backward());
      const cached = gradientsAfter(
        [encoder],
        () =>
          gradCache({
            towers: [{ forward, chunks: splitInputs(x1, 4) }, { forward, chunks: splitInputs(x2, 4) }],
            loss: ([a, b]) => infoNCE(a, b, null),
          }),
      );
      return Math.max(...cached.map((g, k) => relativeError(g, full[k])));
    };
    encoder.eval();
    expect(compare()).to.be.at.most(1e-12);
    encoder.train();
    expect(compare()).to.be.above(1e-3);
  });

  it("replays the dropout generator (exact, = the full batch), and without it throws instead of a wrong gradient", () => {
    const generator = new Generator(25);
    const dropoutGenerator = new Generator(99);
    const encoder = new Sequential(
      new Linear(5, 9, { generator, dtype: "float64" }),
      new ReLU(),
      new Dropout(0.3, dropoutGenerator),
      new Linear(9, 4, { generator, dtype: "float64" }),
    );
    const x1 = randn([12, 5], generator, { dtype: "float64" });
    const x2 = randn([12, 5], generator, { dtype: "float64" });
    const forward = (x: Tensor) => encoder.forward(x);
    const towers = [{ forward, chunks: splitInputs(x1, 3) }, { forward, chunks: splitInputs(x2, 3) }];
    const loss = ([a, b]: Tensor[]) => infoNCE(a, b, null);
    const state = dropoutGenerator.getState();
    // The mask is drawn element by element in row order, so sub-batches in order draw the same masks.
    const full = gradientsAfter([encoder], () => infoNCE(encoder.forward(x1), encoder.forward(x2), null).backward());
    const afterFull = dropoutGenerator.getState();
    dropoutGenerator.setState(state);
    const cached = gradientsAfter([encoder], () => gradCache({ towers, loss, generators: [dropoutGenerator] }));
    cached.forEach((g, k) => expect(relativeError(g, full[k]), `parameter ${k}`).to.be.at.most(1e-12));
    // left where one pass over the batch leaves it: the same next draws
    const next = [dropoutGenerator.random(), dropoutGenerator.random()];
    dropoutGenerator.setState(afterFull);
    expect(next).to.deep.equal([dropoutGenerator.random(), dropoutGenerator.random()]);
    expect(() => gradCache({ towers, loss })).to.throw(/^gradCache: tower 0 chunk 0: the re-forward differs from the first forward/);
  });

  it("rejects a malformed call with its name", () => {
    const x = randn([4, 2], new Generator(1), { dtype: "float64" });
    expect(() => gradCache({ towers: [], loss: () => x.sum() })).to.throw(/^gradCache: need at least one tower/);
    expect(() => gradCache({ forward: (c: Tensor) => c, chunks: [x], loss: () => x })).to.throw(
      /^gradCache: loss must return a scalar, got shape \[4, 2\]/,
    );
    expect(() => gradCache({ forward: (c: Tensor) => c.sum(1), chunks: [x], loss: ([z]) => z.sum() })).to.throw(
      /^gradCache: tower 0 chunk 0: forward must return \(n, D\)/,
    );
    expect(() => splitInputs(x, 0)).to.throw(/^splitInputs: chunkSize/);
  });
});

// ---- docs/large-batches.md ---------------------------------------------------------------------

// #region largeBatchExample
function largeBatchExample(): Record<string, string> {
  const generator = new Generator(7);
  const layer = { generator, dtype: "float64" } as const;
  const encoder = new Sequential(new Linear(8, 32, layer), new ReLU(), new Linear(32, 16, layer));
  const view1 = randn([256, 8], generator, { dtype: "float64" }); // N = 256 examples …
  const view2 = view1.add(randn([256, 8], generator, { dtype: "float64" }).mul(0.3)); // … and a noisy second view

  // GradCache: 4 sub-batches of 64 through the encoder; tiled InfoNCE: 32 × 32 blocks of logits.
  const forward = (x: Tensor) => encoder.forward(x);
  encoder.zeroGrad();
  const cached = gradCache({
    towers: [{ forward, chunks: splitInputs(view1, 64) }, { forward, chunks: splitInputs(view2, 64) }],
    loss: ([z1, z2]) => tiledInfoNCE(z1, z2, { temperature: 0.1, tileSize: 32 }),
  });
  const cachedGrads = encoder.parameters().map((p) => p.grad!.toTypedArray());

  // The same step the ordinary way: one full-batch graph and the dense (256, 256) logits.
  encoder.zeroGrad();
  const full = infoNCE(encoder.forward(view1), encoder.forward(view2), null, { temperature: 0.1 });
  full.backward();
  const fullGrads = encoder.parameters().map((p) => p.grad!.toTypedArray());

  let largestDifference = 0;
  cachedGrads.forEach((g, k) => g.forEach((v, i) => (largestDifference = Math.max(largestDifference, Math.abs(v - fullGrads[k][i])))));
  return {
    cachedLoss: cached.loss.toFixed(12),
    fullLoss: full.item().toFixed(12),
    gradientsAgreeTo1e12: String(largestDifference < 1e-12),
  };
}
// #endregion

describe("large batches: docs/large-batches.md", () => {
  const doc = (): string => readFileSync(repoFile("docs/large-batches.md"), "utf8");
  const block = (kind: "example" | "output"): string | null => {
    const match = new RegExp(`<!-- ${kind}: largeBatchExample -->\\n\`\`\`\\w*\\n([\\s\\S]*?)\\n\`\`\``).exec(doc());
    return match ? match[1] : null;
  };

  it("shows the code of largeBatchExample (this spec) and the output it prints today", () => {
    const source = readFileSync(repoFile("spec/losses/large-batch.spec.ts"), "utf8");
    const region = /\/\/ #region largeBatchExample\n([\s\S]*?)\n\/\/ #endregion/.exec(source)![1];
    expect(block("example"), `docs/large-batches.md: the block after <!-- example: largeBatchExample --> should be\n${region}\n`).to.equal(
      region,
    );
    const output = Object.entries(largeBatchExample()).map(([name, value]) => `${name}: ${value}`).join("\n");
    expect(block("output"), `docs/large-batches.md: the block after <!-- output: largeBatchExample --> should be\n${output}\n`).to.equal(
      output,
    );
    expect(output).to.include("gradientsAgreeTo1e12: true");
  });

  it("names every public function of the large-batch files", () => {
    for (const name of ["tiledInfoNCE", "tiledClipLoss", "gradCache", "splitInputs", "large-batch.spec.ts"]) expect(doc()).to.include(name);
  });
});
