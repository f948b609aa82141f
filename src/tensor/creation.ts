/**
 * Creating tensors: from values, constants, ranges and seeded random draws.
 * PyTorch: torch.tensor, zeros, ones, full, eye, arange, rand, randn (camelCase here).
 */
import { Tensor, allocate, checkDType, dtypeOf, type DType, type NestedArray, type TypedArray } from "./tensor.js";
import { checkShape, numel, shapeToString, type Shape } from "./shape.js";
import type { Generator } from "./random.js";

export interface TensorOptions {
  dtype?: DType;
  requiresGrad?: boolean;
}

export interface TensorFromValuesOptions extends TensorOptions {
  /** Required when `values` is a flat typed array or flat list meant as a multi-dimensional tensor. */
  shape?: Shape;
}

/**
 * `tensor(3)` is 0-d, `tensor([[1, 2], [3, 4]])` is (2, 2), `tensor(float32Array, { shape: [2, 3] })`
 * wraps a copy of typed data. The dtype defaults to float32, or to the typed array's own type.
 */
export function tensor(values: number | NestedArray | TypedArray, options: TensorFromValuesOptions = {}): Tensor {
  let flat: number[] | TypedArray;
  let inferredShape: number[];
  if (typeof values === "number") {
    flat = [values];
    inferredShape = [];
  } else if (values instanceof Float32Array || values instanceof Float64Array) {
    flat = values;
    inferredShape = [values.length];
  } else {
    inferredShape = inferShape(values);
    flat = flattenNested(values);
    for (const v of flat) {
      if (typeof v !== "number") throw new Error(`tensor: every value must be a number, got ${typeof v}`);
    }
  }
  const shape = options.shape ? options.shape.slice() : inferredShape;
  checkShape("tensor", shape);
  if (numel(shape) !== flat.length) {
    throw new Error(`tensor: ${flat.length} values cannot fill shape ${shapeToString(shape)} (needs ${numel(shape)})`);
  }
  const dtype = checkDType("tensor", options.dtype, flat instanceof Float64Array ? "float64" : "float32");
  const data = allocate(dtype, flat.length);
  data.set(flat);
  return Tensor.fromTypedArray(data, shape, options.requiresGrad ?? false);
}

function flattenNested(values: NestedArray): number[] {
  const out: number[] = [];
  const walk = (node: NestedArray): void => {
    if (Array.isArray(node)) node.forEach(walk);
    else out.push(node);
  };
  walk(values);
  return out;
}

function inferShape(values: NestedArray): number[] {
  const shape: number[] = [];
  let level: NestedArray = values;
  while (Array.isArray(level)) {
    shape.push(level.length);
    if (level.length === 0) break;
    level = level[0];
  }
  // Check that the nesting is rectangular, so that a ragged list is an error and not a wrong shape.
  const check = (node: NestedArray, axis: number): void => {
    if (axis === shape.length) {
      if (Array.isArray(node)) throw new Error(`tensor: ragged nested array (too deep at axis ${axis}, expected shape ${shapeToString(shape)})`);
      return;
    }
    if (!Array.isArray(node) || node.length !== shape[axis]) {
      throw new Error(`tensor: ragged nested array (axis ${axis} should have length ${shape[axis]}, shape ${shapeToString(shape)})`);
    }
    for (const child of node) check(child, axis + 1);
  };
  check(values, 0);
  return shape;
}

export function full(shape: Shape, value: number, options: TensorOptions = {}): Tensor {
  return filled("full", shape, value, options);
}

export function zeros(shape: Shape, options: TensorOptions = {}): Tensor {
  return filled("zeros", shape, 0, options);
}

export function ones(shape: Shape, options: TensorOptions = {}): Tensor {
  return filled("ones", shape, 1, options);
}

export function zerosLike(like: Tensor, options: TensorOptions = {}): Tensor {
  return filled("zerosLike", like.shape, 0, options, like.dtype);
}

export function onesLike(like: Tensor, options: TensorOptions = {}): Tensor {
  return filled("onesLike", like.shape, 1, options, like.dtype);
}

export function fullLike(like: Tensor, value: number, options: TensorOptions = {}): Tensor {
  return filled("fullLike", like.shape, value, options, like.dtype);
}

/** full, zeros, ones and the *Like forms, each checking its arguments under its own name. */
function filled(fn: string, shape: Shape, value: number, options: TensorOptions, defaultDType: DType = "float32"): Tensor {
  const dtype = checkDType(fn, options.dtype, defaultDType);
  checkShape(fn, shape);
  const data = allocate(dtype, numel(shape));
  data.fill(value);
  return Tensor.fromTypedArray(data, shape, options.requiresGrad ?? false);
}

/** n×m identity (m defaults to n). */
export function eye(n: number, m = n, options: TensorOptions = {}): Tensor {
  const dtype = checkDType("eye", options.dtype);
  checkShape("eye", [n, m]);
  const data = allocate(dtype, n * m);
  for (let i = 0; i < Math.min(n, m); i++) data[i * m + i] = 1;
  return Tensor.fromTypedArray(data, [n, m], options.requiresGrad ?? false);
}

/** `arange(end)` or `arange(start, end, step)`: start, start+step, … < end. */
export function arange(startOrEnd: number, end?: number, step = 1, options: TensorOptions = {}): Tensor {
  const start = end === undefined ? 0 : startOrEnd;
  const stop = end === undefined ? startOrEnd : end;
  if (step === 0 || !Number.isFinite(step)) throw new Error(`arange: step must be a non-zero finite number, got ${step}`);
  const dtype = checkDType("arange", options.dtype);
  const count = Math.max(0, Math.ceil((stop - start) / step));
  const data = allocate(dtype, count);
  for (let i = 0; i < count; i++) data[i] = start + i * step;
  return Tensor.fromTypedArray(data, [count], options.requiresGrad ?? false);
}

/** Uniform [0, 1) draws from an explicit seeded generator. */
export function rand(shape: Shape, generator: Generator, options: TensorOptions = {}): Tensor {
  requireGenerator("rand", generator);
  const dtype = checkDType("rand", options.dtype);
  checkShape("rand", shape);
  const data = allocate(dtype, numel(shape));
  for (let i = 0; i < data.length; i++) data[i] = generator.random();
  return Tensor.fromTypedArray(data, shape, options.requiresGrad ?? false);
}

/** Standard normal draws from an explicit seeded generator. */
export function randn(shape: Shape, generator: Generator, options: TensorOptions = {}): Tensor {
  requireGenerator("randn", generator);
  const dtype = checkDType("randn", options.dtype);
  checkShape("randn", shape);
  const data = allocate(dtype, numel(shape));
  for (let i = 0; i < data.length; i++) data[i] = generator.normal();
  return Tensor.fromTypedArray(data, shape, options.requiresGrad ?? false);
}

function requireGenerator(opName: string, generator: Generator | undefined): void {
  if (!generator || typeof (generator as Generator).random !== "function") {
    throw new Error(`${opName}: pass a seeded Generator (new Generator(seed)); there is no global random state`);
  }
}

export { dtypeOf };
