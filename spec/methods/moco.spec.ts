/**
 * MoCo's queue (src/methods/moco.ts): after s steps of N keys the queue holds exactly the last K
 * keys, oldest first from the pointer, and pointer = s·N mod K; the negatives of a batch are the
 * queue *before* its keys go in; and the in-place enqueue does not change the query encoder's
 * gradient.
 *
 * Setup: batch N = 16, K = 48 (three batches), 80 images → 5 steps, so the queue wraps around.
 * The keys are recomputed here with the key encoder, under noGrad, before each step (the MoCo
 * projector has no batch norm, so this forward has no side effect).
 */
import { expect } from "chai";
import { Tensor } from "../../src/tensor/tensor.js";
import { noGrad } from "../../src/autograd/tape.js";
import { normalize } from "../../src/ops/functional.js";
import { mocoLoss } from "../../src/losses/moco-loss.js";
import { imageTensor } from "../../src/methods/common.js";
import { MoCo } from "../../src/methods/moco.js";
import { Generator } from "../../src/tensor/random.js";
import { createRun, trainRun } from "../../src/methods/trainer.js";
import type { TwoViewBatch } from "../../src/data/loader.js";
import { sameBits, tinyConfig } from "./helpers.js";

const N = 16;
const K = 48;
const D = 128;

function keysOf(moco: MoCo, batch: TwoViewBatch): Float32Array {
  return noGrad(() => normalize(moco.keyProjector.forward(moco.keyEncoder.forward(imageTensor(batch.view2, batch.batchSize)))))
    .toTypedArray() as Float32Array; // (N, 128)
}

function queriesOf(moco: MoCo, batch: TwoViewBatch): Tensor {
  return noGrad(() => moco.projector.forward(moco.encoder.forward(imageTensor(batch.view1, batch.batchSize)))); // (N, 128)
}

interface StepRecord {
  keys: Float32Array;
  pointerBefore: number;
  queueBefore: Float32Array;
  queueAfter: Float32Array;
  loss: number;
  lossWithQueueBefore: number;
  lossWithQueueAfter: number;
}

describe("methods/moco: the queue (one-sided loss, N keys a step)", () => {
  const steps: StepRecord[] = [];
  let moco: MoCo;

  before(() => {
    const run = createRun(tinyConfig("moco", { batchSize: N, trainLimit: 80, queueSize: K, epochs: 1, symmetricLoss: false }));
    moco = run.method as MoCo;
    expect(run.stepsPerEpoch).to.equal(5);
    const trainingLoss = moco.trainingLoss.bind(moco);
    moco.trainingLoss = (batch: TwoViewBatch) => {
      const keys = keysOf(moco, batch);
      const queries = queriesOf(moco, batch);
      const pointerBefore = moco.queuePointer;
      const queueBefore = moco.queue.toTypedArray() as Float32Array; // a copy
      const loss = trainingLoss(batch);
      const queueAfter = moco.queue.toTypedArray() as Float32Array;
      const keyTensor = Tensor.fromTypedArray(keys, [N, D]);
      const lossWith = (queue: Float32Array) =>
        mocoLoss(queries, keyTensor, Tensor.fromTypedArray(queue, [K, D]), { temperature: moco.temperature }).item();
      steps.push({
        keys,
        pointerBefore,
        queueBefore,
        queueAfter,
        loss: loss.item(),
        lossWithQueueBefore: lossWith(queueBefore),
        lossWithQueueAfter: lossWith(queueAfter),
      });
      return loss;
    };
    trainRun(run);
  });

  it("advances the pointer by N modulo K: pointer = steps·N mod K", () => {
    expect(steps.map((s) => s.pointerBefore)).to.deep.equal([0, 16, 32, 0, 16]);
    expect(moco.queuePointer).to.equal((5 * N) % K);
  });

  it("writes each batch's keys at the old pointer and leaves the other rows alone", () => {
    for (const [i, step] of steps.entries()) {
      const rows = (from: Float32Array, start: number, count: number) => from.subarray(start * D, (start + count) * D);
      expect(sameBits(rows(step.queueAfter, step.pointerBefore, N), step.keys), `step ${i + 1}`).to.equal(true);
      for (const start of [0, 16, 32].filter((r) => r !== step.pointerBefore)) {
        expect(sameBits(rows(step.queueAfter, start, N), rows(step.queueBefore, start, N)), `step ${i + 1}, rows ${start}…`).to.equal(true);
      }
    }
  });

  it("after 5 steps holds exactly the last K = 3N keys, oldest first from the pointer", () => {
    const pointer = moco.queuePointer; // 32
    const queue = moco.queue.toTypedArray() as Float32Array;
    const lastKeys = steps.slice(-3).map((s) => s.keys); // steps 3, 4, 5
    lastKeys.forEach((keys, j) => {
      const start = ((pointer + j * N) % K) * D;
      expect(sameBits(queue.subarray(start, start + N * D), keys), `block ${j}`).to.equal(true);
    });
    // Every key is a unit vector (normalized before it is enqueued).
    for (let row = 0; row < K; row++) {
      let norm = 0;
      for (let d = 0; d < D; d++) norm += queue[row * D + d] ** 2;
      expect(Math.sqrt(norm)).to.be.closeTo(1, 1e-5);
    }
  });

  it("reads the negatives before the enqueue: a batch's keys are never its own negatives", () => {
    for (const [i, step] of steps.entries()) {
      expect(step.loss, `step ${i + 1}`).to.equal(step.lossWithQueueBefore);
      // With the queue after the enqueue, row i's own key k_i would sit among its negatives.
      expect(Math.abs(step.loss - step.lossWithQueueAfter), `step ${i + 1}`).to.be.above(1e-3);
    }
  });
});

describe("methods/moco: gradients despite the in-place enqueue", () => {
  it("the query encoder's gradient equals the one computed with the queue left untouched", () => {
    const build = () => new MoCo({ generator: new Generator(7), queueSize: 2 * N, symmetric: false });
    const moco = build();
    const untouched = build();
    untouched.enqueue = () => {}; // the same loss, but the queue is never modified
    const batch = createRun(tinyConfig("moco", { batchSize: N, trainLimit: 80, queueSize: K, symmetricLoss: false })).loader
      .next() as TwoViewBatch;
    const pointer = moco.queuePointer;
    moco.trainingLoss(batch).backward();
    untouched.trainingLoss(batch).backward();
    expect(moco.queuePointer).to.equal(pointer + N); // the enqueue did happen before backward
    expect(moco.queue.version).to.equal(1); // and the queue's version counter saw it
    const gradients = [...moco.namedParameters()].filter(([, p]) => p.requiresGrad);
    const reference = new Map(untouched.namedParameters());
    expect(gradients.length).to.equal(8); // encoder and projector: 4 Linear layers × (weight, bias)
    for (const [name, parameter] of gradients) {
      expect(parameter.grad, name).to.not.equal(null);
      expect(sameBits(parameter.grad!, reference.get(name)!.grad!), name).to.equal(true);
    }
  });
});

describe("methods/moco: why the queue is cloned (the comment in MoCo.trainingLoss)", () => {
  const setup = () => {
    const g = new Generator(11);
    const moco = new MoCo({ generator: new Generator(12), queueSize: K, symmetric: false });
    const queueBefore = Tensor.fromTypedArray(moco.queue.toTypedArray(), [K, D]); // a copy: the queue before the enqueue
    const query = Tensor.fromTypedArray(Float32Array.from({ length: N * D }, () => g.normal()), [N, D], true); // (N, 128)
    const key = normalize(Tensor.fromTypedArray(Float32Array.from({ length: N * D }, () => g.normal()), [N, D])); // (N, 128)
    return { moco, queueBefore, query, enqueue: () => moco.enqueue(key), key };
  };

  it("mocoLoss never leaves the queue's buffer on the tape: on the live queue, an enqueue before backward changes nothing", () => {
    const { moco, queueBefore, query, enqueue, key } = setup();
    const loss = mocoLoss(query, key, moco.queue, { temperature: 0.2 }); // no clone
    enqueue();
    expect(moco.queue.version).to.equal(1);
    loss.backward(); // not refused: the tape saved only normalize(queue)'s fresh output
    const gradient = query.grad!.toTypedArray();
    query.grad = null;
    mocoLoss(query, key, queueBefore, { temperature: 0.2 }).backward();
    expect(sameBits(gradient, query.grad!.toTypedArray())).to.equal(true);
  });

  it("a loss that reads the queue itself (as builder.py's einsum) is refused after the enqueue, unless it read a clone", () => {
    const { moco, query, enqueue } = setup();
    const logits = (negatives: Tensor) => normalize(query).matmul(negatives.t()).div(0.2); // (N, K) from the queue as it is
    const loss = logits(moco.queue).logsumexp(1).mean();
    enqueue();
    expect(() => loss.backward()).to.throw(
      /backward: input 1 of 'matmul' \(shape \[128, 48\]\) was modified in place after it was saved \(version 1, saved at version 0\)/,
    );
    const cloned = logits(noGrad(() => moco.queue.clone())).logsumexp(1).mean();
    enqueue();
    cloned.backward();
    expect(query.grad).to.not.equal(null);
  });
});

describe("methods/moco: the symmetrized loss (the default)", () => {
  const batchOf = () =>
    createRun(tinyConfig("moco", { batchSize: N, trainLimit: 80, queueSize: K, symmetricLoss: false })).loader.next() as TwoViewBatch;
  const keysOfView = (moco: MoCo, view: Float32Array) =>
    // (N, 128)
    noGrad(() => normalize(moco.keyProjector.forward(moco.keyEncoder.forward(imageTensor(view, N))))).toTypedArray() as Float32Array;
  const queriesOfView = (moco: MoCo, view: Float32Array) =>
    noGrad(() => moco.projector.forward(moco.encoder.forward(imageTensor(view, N)))); // (N, 128)

  it("is ½[L(q₁, k₂; queue) + L(q₂, k₁; queue)] with the queue as it was before the step", () => {
    const moco = new MoCo({ generator: new Generator(7), queueSize: 4 * N });
    const batch = batchOf();
    for (let step = 0; step < 3; step++) {
      const queueBefore = Tensor.fromTypedArray(moco.queue.toTypedArray() as Float32Array, [4 * N, D]);
      const k1 = Tensor.fromTypedArray(keysOfView(moco, batch.view1), [N, D]);
      const k2 = Tensor.fromTypedArray(keysOfView(moco, batch.view2), [N, D]);
      const q1 = queriesOfView(moco, batch.view1);
      const q2 = queriesOfView(moco, batch.view2);
      const options = { temperature: moco.temperature };
      const expected = noGrad(() => mocoLoss(q1, k2, queueBefore, options).add(mocoLoss(q2, k1, queueBefore, options)).mul(0.5)).item();
      const oneSided = noGrad(() => mocoLoss(q1, k2, queueBefore, options)).item();
      const loss = moco.trainingLoss(batch).item();
      expect(loss, `step ${step + 1}`).to.equal(expected);
      expect(Math.abs(loss - oneSided), `step ${step + 1}: differs from the one-sided loss`).to.be.above(1e-4);
    }
  });

  it("enqueues k₁ then k₂ (2N keys a step) and advances the pointer by 2N modulo K", () => {
    const moco = new MoCo({ generator: new Generator(8), queueSize: 4 * N });
    const batch = batchOf();
    const pointers: number[] = [];
    for (let step = 0; step < 3; step++) {
      const k1 = keysOfView(moco, batch.view1);
      const k2 = keysOfView(moco, batch.view2);
      const pointer = moco.queuePointer;
      pointers.push(pointer);
      moco.trainingLoss(batch);
      const queue = moco.queue.toTypedArray() as Float32Array;
      expect(sameBits(queue.subarray(pointer * D, (pointer + N) * D), k1), `step ${step + 1}, k₁`).to.equal(true);
      expect(sameBits(queue.subarray((pointer + N) * D, (pointer + 2 * N) * D), k2), `step ${step + 1}, k₂`).to.equal(true);
    }
    expect(pointers).to.deep.equal([0, 2 * N, 0]);
    expect(moco.queuePointer).to.equal(2 * N);
  });

  it("needs K to be a multiple of 2N (one-sided: of N), and says so", () => {
    const moco = new MoCo({ generator: new Generator(9), queueSize: 3 * N });
    expect(() => moco.trainingLoss(batchOf())).to.throw(
      `MoCo: symmetric: queue size ${3 * N} is not a multiple of twice the batch size ${N}`,
    );
    const oneSided = new MoCo({ generator: new Generator(9), queueSize: 40, symmetric: false });
    expect(() => oneSided.trainingLoss(batchOf())).to.throw(`MoCo: queue size 40 is not a multiple of the batch size ${N}`);
  });
});

describe("methods/moco: batch norm in the heads (projectorBatchNorm: true)", () => {
  it("puts a BatchNorm1d after the hidden Linear of both heads, at index 1 as in nn.Sequential, and trains", () => {
    const moco = new MoCo({ generator: new Generator(10), queueSize: 4 * N, projectorBatchNorm: true });
    const keys = [...moco.stateDict().keys()].filter((key) => key.startsWith("projector.") || key.startsWith("keyProjector."));
    expect(keys).to.include.members(["projector.1.weight", "projector.1.bias", "projector.1.runningMean", "keyProjector.1.runningVar"]);
    const plain = new MoCo({ generator: new Generator(10), queueSize: 4 * N });
    expect([...plain.stateDict().keys()].some((key) => key.startsWith("projector.1."))).to.equal(false);
    const batch = createRun(tinyConfig("moco", { batchSize: N, trainLimit: 80, queueSize: K, symmetricLoss: false })).loader
      .next() as TwoViewBatch;
    const loss = moco.trainingLoss(batch);
    loss.backward();
    expect(loss.item()).to.be.finite;
    expect(moco.projector.namedParameters().next().value![1].grad).to.not.equal(null);
  });
});
