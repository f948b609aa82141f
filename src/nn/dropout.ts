/**
 * Dropout (Srivastava et al. 2014, "Dropout", §4; inverted scaling as PyTorch: torch.nn.Dropout).
 *
 *   training:  y = x ⊙ m / (1 − p),   m_i ~ Bernoulli(1 − p) drawn from the module's Generator
 *   eval:      y = x                  (the same object: no copy, no tape record)
 *   ∂L/∂x = ḡ ⊙ m / (1 − p)
 *
 * Scaling the kept values by 1/(1 − p) keeps E[y] = x, so evaluation needs no rescaling.
 * The mask stream comes from the Generator given at construction: same seed, same masks.
 * No parameters, no state dict entries.
 *
 * @module
 */
import type { Tensor } from "../tensor/tensor.js";
import type { Generator } from "../tensor/random.js";
import { dropout } from "../ops/functional.js";
import { mul } from "../ops/elementwise.js";
import { Module } from "./module.js";
import { requireGenerator } from "./init.js";

/**
 * Zeroes each element with probability p in training mode and scales the rest by 1/(1 − p); the identity in eval mode. PyTorch:
 * `torch.nn.Dropout`.
 */
export class Dropout extends Module {
  /** Drop probability (default 0.5). */
  readonly p: number;
  private readonly generator: Generator | null;

  /** The generator may be omitted only when p = 0 (a placeholder that never draws). */
  constructor(p = 0.5, generator?: Generator) {
    super();
    if (!(p >= 0 && p <= 1)) throw new Error(`Dropout: probability p must be in [0, 1], got ${p}`);
    this.p = p;
    this.generator = p > 0 ? requireGenerator("Dropout", generator) : (generator ?? null);
  }

  forward(x: Tensor): Tensor {
    if (!this.training || this.p === 0) return x;
    if (this.p === 1) return mul(x, 0); // everything dropped (1/(1 − p) is undefined)
    return dropout(x, this.p, true, this.generator!);
  }
}
