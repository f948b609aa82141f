/**
 * Parameter initialization (PyTorch: torch.nn.init). Every random fill takes an explicit seeded
 * `Generator`: there is no global random state, so the same seed gives the same weights, bit for
 * bit. Fills are in place and outside autograd, in row-major order (one draw per element).
 *
 *   uniform_(w, a, b)        w ~ U(a, b)
 *   normal_(w, μ, σ)         w ~ N(μ, σ²)
 *   kaimingUniform_(w, {a})  w ~ U(−bound, bound),  bound = gain · √(3 / fan_in),  gain = √(2 / (1 + a²))
 *                            (He et al. 2015, "Delving Deep into Rectifiers", §2.2)
 *   xavierUniform_(w, gain)  w ~ U(−bound, bound),  bound = gain · √(6 / (fan_in + fan_out))
 *                            (Glorot & Bengio 2010, eq. 16)
 *
 * fan_in / fan_out of a weight of shape (out, in, k₁, k₂, …) are in·k₁·k₂… and out·k₁·k₂…, as
 * torch.nn.init._calculate_fan_in_and_fan_out. PyTorch's default Linear and Conv2d init is
 * kaimingUniform_(w, {a: √5}): gain = √(1/3), so bound = 1/√fan_in.
 *
 * PyTorch streams differ from ours (Mersenne Twister vs xoshiro128**): a port reproduces the
 * distributions, not the numbers.
 *
 * @module
 */
import type { DType, Tensor } from "../tensor/tensor.js";
import { zeros } from "../tensor/creation.js";
import { Parameter } from "./module.js";
import { Generator } from "../tensor/random.js";
import { shapeToString } from "../tensor/shape.js";
import { mutableStorage } from "../tensor/version.js";
import { checkOptions } from "../tensor/options.js";

/** Throw a clear error when a module that draws random numbers gets no Generator. */
export function requireGenerator(owner: string, generator: unknown): Generator {
  if (!(generator instanceof Generator)) {
    throw new Error(`${owner}: pass a seeded Generator ({ generator: new Generator(seed) }); there is no global random state`);
  }
  return generator;
}

function fill(t: Tensor, draw: () => number): Tensor {
  if (!t.isContiguous()) throw new Error(`init: tensor of shape ${shapeToString(t.shape)} must be contiguous to be filled in place`);
  const { data, offset } = mutableStorage(t);
  const n = t.numel();
  for (let i = 0; i < n; i++) data[offset + i] = draw();
  return t;
}

/**
 * w ~ U(low, high), in place.
 * PyTorch: `torch.nn.init.uniform_`.
 */
export function uniform_(t: Tensor, low: number, high: number, generator: Generator): Tensor {
  requireGenerator("uniform_", generator);
  return fill(t, () => generator.uniform(low, high));
}

/**
 * w ~ N(mean, std²), in place.
 * PyTorch: `torch.nn.init.normal_`.
 */
export function normal_(t: Tensor, mean: number, std: number, generator: Generator): Tensor {
  requireGenerator("normal_", generator);
  return fill(t, () => generator.normal(mean, std));
}

/**
 * w = value, in place.
 * PyTorch: `torch.nn.init.constant_`.
 */
export function constant_(t: Tensor, value: number): Tensor {
  return fill(t, () => value);
}

/** Fill `t` with 0 in place (outside autograd); returns t. PyTorch: `torch.nn.init.zeros_`. */
export function zeros_(t: Tensor): Tensor {
  return constant_(t, 0);
}

/** Fill `t` with 1 in place (outside autograd); returns t. PyTorch: `torch.nn.init.ones_`. */
export function ones_(t: Tensor): Tensor {
  return constant_(t, 1);
}

/**
 * fan_in = shape[1]·receptive field, fan_out = shape[0]·receptive field (needs ≥ 2 dims).
 * PyTorch: `torch.nn.init._calculate_fan_in_and_fan_out`.
 */
export function calculateFanInAndFanOut(t: Tensor): {
  /** Inputs per output unit: dim 1 × the receptive field. */
  fanIn: number;
  /** Outputs per input unit: dim 0 × the receptive field. */
  fanOut: number;
} {
  const shape = t.shape;
  if (shape.length < 2) {
    throw new Error(
      `calculateFanInAndFanOut: fan in and fan out need a tensor with at least 2 dimensions, got shape ${shapeToString(shape)}`,
    );
  }
  const receptiveField = shape.slice(2).reduce((p, d) => p * d, 1);
  return { fanIn: shape[1] * receptiveField, fanOut: shape[0] * receptiveField };
}

/** Options of {@link kaimingUniform_}; the defaults are PyTorch's. */
export interface KaimingOptions {
  /** Negative slope of the leaky ReLU that follows (PyTorch's default layers use √5). */
  a?: number;
  /** Whether the variance is preserved in the forward pass (`"fanIn"`, default) or the backward pass (`"fanOut"`). */
  mode?: "fanIn" | "fanOut";
  /** The nonlinearity whose gain is used (default `"leakyRelu"` with slope `a`). */
  nonlinearity?: "leakyRelu" | "relu" | "linear" | "tanh";
}

/** torch.nn.init.calculate_gain for the nonlinearities used here. */
export function calculateGain(nonlinearity: KaimingOptions["nonlinearity"], param = 0.01): number {
  switch (nonlinearity) {
    case "linear":
      return 1;
    case "relu":
      return Math.SQRT2;
    case "tanh":
      return 5 / 3;
    case "leakyRelu":
    case undefined:
      return Math.sqrt(2 / (1 + param * param));
    default:
      throw new Error(`calculateGain: unsupported nonlinearity '${nonlinearity}'`);
  }
}

/**
 * He uniform: U(−b, b) with b = gain·√(3/fan), fan = fan_in (default) or fan_out.
 * PyTorch: `torch.nn.init.kaiming_uniform_`.
 */
export function kaimingUniform_(t: Tensor, options: KaimingOptions, generator: Generator): Tensor {
  checkOptions("kaimingUniform_", options, { a: true, mode: true, nonlinearity: true });
  const { fanIn, fanOut } = calculateFanInAndFanOut(t);
  const fan = (options.mode ?? "fanIn") === "fanIn" ? fanIn : fanOut;
  const gain = calculateGain(options.nonlinearity ?? "leakyRelu", options.a ?? 0);
  const bound = fan === 0 ? 0 : gain * Math.sqrt(3 / fan);
  return uniform_(t, -bound, bound, generator);
}

/**
 * Glorot uniform: U(−b, b) with b = gain·√(6/(fan_in + fan_out)).
 * PyTorch: `torch.nn.init.xavier_uniform_`.
 */
export function xavierUniform_(t: Tensor, gain: number, generator: Generator): Tensor {
  const { fanIn, fanOut } = calculateFanInAndFanOut(t);
  const bound = gain * Math.sqrt(6 / (fanIn + fanOut));
  return uniform_(t, -bound, bound, generator);
}

/** A fresh zero-filled Parameter of this shape and dtype, ready to be filled in place. */
export function emptyParameter(shape: number[], dtype: DType = "float32"): Parameter {
  return new Parameter(zeros(shape, { dtype }));
}
