/**
 * Matrix product, batched and broadcast as `torch.matmul`.
 *
 *   C = A · B,   C[i, j] = Σ_k A[i, k] B[k, j]        A: (…, M, K), B: (…, K, N), C: (…, M, N)
 *   ∂L/∂A = ∂L/∂C · Bᵀ        ∂L/∂B = Aᵀ · ∂L/∂C
 *
 * The batch dims (…) broadcast by NumPy rules; the tape sums each gradient back over them. A 1-D
 * operand is a row (left) or a column (right) vector whose extra dim is removed from the result.
 * The arithmetic runs in the blocked, register-tiled kernel of ./gemm.ts, which reads any strides,
 * so transposed operands (z.matmul(z.transpose(0, 1))) are never copied.
 *
 * @module
 */
import { Tensor } from "../tensor/tensor.js";
import { broadcastShapes, contiguousStrides, shapeToString } from "../tensor/shape.js";
import { defineOp, type Recordable, type Unchanged } from "../autograd/registry.js";
import { broadcastView, checkSameDtype, emptyTensor, requireTensor } from "./util.js";
import { gemm } from "./gemm.js";
import { reshape, transpose, squeeze } from "./views.js";

/**
 * Matrix product `a @ b`: (M, K) @ (K, N) → (M, N), batched over broadcast leading axes; a 1-D operand is a vector. Transposed views are
 * read in place. PyTorch: `torch.matmul`.
 */
export function matmul(a: Tensor, b: Tensor): Tensor {
  const left = requireTensor("matmul", a, "left operand");
  const right = requireTensor("matmul", b, "right operand");
  checkSameDtype("matmul", "left operand", left, "right operand", right);
  if (left.ndim === 0 || right.ndim === 0) {
    throw new Error(
      `matmul: both operands need at least 1 dimension, got shapes ${shapeToString(left.shape)} and ${shapeToString(right.shape)}`,
    );
  }
  // Vectors become matrices, and the added axis is removed from the result.
  if (left.ndim === 1 && right.ndim === 1) return squeeze(squeeze(matmul(reshape(left, [1, -1]), reshape(right, [-1, 1])), -1), -1);
  if (left.ndim === 1) return squeeze(matmul(reshape(left, [1, -1]), right), -2);
  if (right.ndim === 1) return squeeze(matmul(left, reshape(right, [-1, 1])), -1);
  return matmulBatched(left, right);
}

/** The primitive: (…, M, K) @ (…, K, N) with broadcast batch dims. */
const matmulBatched = defineOp("matmul", (x: Tensor, y: Tensor): Recordable | Unchanged => {
  const [M, K] = x.shape.slice(-2);
  const [K2, N] = y.shape.slice(-2);
  if (K !== K2) {
    throw new Error(`matmul: inner dimensions differ: ${shapeToString(x.shape)} @ ${shapeToString(y.shape)} (${K} ≠ ${K2})`);
  }
  const batchShape = broadcastShapes("matmul (batch dims)", x.shape.slice(0, -2), y.shape.slice(0, -2));
  const out = emptyTensor(x.dtype, [...batchShape, M, N]);
  // Broadcast views of both operands over the batch dims (stride 0 where broadcast).
  const xView = broadcastView(x, [...batchShape, M, K]);
  const yView = broadcastView(y, [...batchShape, K, N]);
  const batchCount = batchShape.reduce((p, d) => p * d, 1);
  const batchStrides = contiguousStrides(batchShape);
  const rank = batchShape.length;
  for (let batch = 0; batch < batchCount; batch++) {
    let xOffset = xView.offset;
    let yOffset = yView.offset;
    let rest = batch;
    for (let axis = 0; axis < rank; axis++) {
      const index = Math.floor(rest / batchStrides[axis]);
      rest -= index * batchStrides[axis];
      xOffset += index * xView.stride[axis];
      yOffset += index * yView.stride[axis];
    }
    gemm(
      M,
      N,
      K,
      { data: xView.data, offset: xOffset, rowStride: xView.stride[rank], colStride: xView.stride[rank + 1] },
      { data: yView.data, offset: yOffset, rowStride: yView.stride[rank], colStride: yView.stride[rank + 1] },
      out.storage.data,
      batch * M * N,
      false, // C = A·B: the wasm kernel then never reads the fresh `out` (the scalar kernel zeroes it first)
    );
  }
  // ∂L/∂X = G Yᵀ,  ∂L/∂Y = Xᵀ G   (each in the broadcast batch shape; the tape sums it back)
  return {
    output: out,
    inputs: [x, y],
    backward: (g) => [x.requiresGrad ? matmul(g, transpose(y, -1, -2)) : null, y.requiresGrad ? matmul(transpose(x, -1, -2), g) : null],
  };
});
