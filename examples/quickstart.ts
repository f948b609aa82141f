/**
 * Quickstart: a softmax classifier on 2,000 MNIST digits, trained with the tensor layer alone
 * (matmul, crossEntropy, backward, a hand-written SGD step), printing its loss as it falls.
 *
 *   logits = X W + b            X: (B, 784), W: (784, 10), b: (10,)
 *   loss   = crossEntropy(logits, labels)
 *   W ← W − lr · ∂loss/∂W
 *
 * Run: npm start  (or: npm run build:spec && node build/examples/quickstart.js)
 */
import { Generator, tensor, zeros, randn, crossEntropy, noGrad, type Tensor } from "../src/index.js";
import { IMAGE_PIXELS, NUM_CLASSES } from "../src/data/index.js";
import { loadMnist } from "../src/data/mnist-package.js";

export function quickstart(options: { steps?: number; log?: (line: string) => void } = {}): number[] {
  const steps = options.steps ?? 200;
  const log = options.log ?? console.log;
  const { train } = loadMnist();
  const generator = new Generator(0);
  const count = 2000;
  const order = generator.randperm(train.count).subarray(0, count);
  const pixels = new Float32Array(count * IMAGE_PIXELS); // (count, 784)
  const labels = new Int32Array(count);
  order.forEach((image, row) => {
    pixels.set(train.images.subarray(image * IMAGE_PIXELS, (image + 1) * IMAGE_PIXELS), row * IMAGE_PIXELS);
    labels[row] = train.labels[image];
  });
  const weight = randn([IMAGE_PIXELS, NUM_CLASSES], generator).mul(0.01).detach().requiresGrad_(); // (784, 10)
  const bias = zeros([NUM_CLASSES], { requiresGrad: true }); // (10,)
  const batchSize = 100;
  const learningRate = 0.5;
  const losses: number[] = [];
  for (let step = 0; step < steps; step++) {
    const start = (step * batchSize) % count;
    const pixelsOfBatch = pixels.subarray(start * IMAGE_PIXELS, (start + batchSize) * IMAGE_PIXELS);
    const images = tensor(pixelsOfBatch, { shape: [batchSize, IMAGE_PIXELS] }); // (B, 784)
    const logits = images.matmul(weight).add(bias); // (B, 10)
    const loss = crossEntropy(logits, labels.subarray(start, start + batchSize));
    loss.backward();
    noGrad(() => {
      for (const parameter of [weight, bias] as Tensor[]) {
        const values = parameter.storage.data;
        const grad = parameter.grad!.storage.data;
        for (let i = 0; i < values.length; i++) values[i] -= learningRate * grad[i];
        parameter.grad = null;
      }
    });
    losses.push(loss.item());
    if (step % 20 === 0 || step === steps - 1) log(`step ${String(step).padStart(4)}  loss ${loss.item().toFixed(4)}`);
  }
  return losses;
}

if (import.meta.url === `file://${process.argv[1]}`) quickstart();
