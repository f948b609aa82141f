/**
 * The complementary error function erfc(x) = 1 − erf(x) = (2/√π) ∫ₓ^∞ e^(−t²) dt, to about one
 * unit in the last place of a double.
 *
 * Exact GELU needs Φ(x) = ½·erfc(−x/√2), and a series or a low-order approximation is not accurate
 * enough for float64 parity with PyTorch. This follows the classic piecewise rational
 * approximations of fdlibm's s_erf.c (Sun Microsystems, 1993: "Permission to use, copy, modify, and
 * distribute this software is freely granted, provided that this notice is preserved."); the
 * coefficients below are that algorithm's published constants.
 *
 * Using erfc instead of 1 + erf keeps Φ(x) accurate for very negative x, where 1 + erf(x) loses
 * every digit to cancellation.
 *
 * @module
 */

/** erx: erf(1) rounded to single precision, the constant term of erf on [0.84375, 1.25) (fdlibm's `erx`). */
const ERX = 8.45062911510467529297e-01;
// erf on [0, 0.84375]: erf(x) = x + x·P(x²)/Q(x²)
const PP = [
  1.28379167095512558561e-01,
  -3.25042107247001499370e-01,
  -2.84817495755985104766e-02,
  -5.77027029648944159157e-03,
  -2.37630166566501626084e-05,
];
const QQ = [
  1,
  3.97917223959155352819e-01,
  6.50222499887672944485e-02,
  5.08130628187576562776e-03,
  1.32494738004321644526e-04,
  -3.96022827877536812320e-06,
];
// erf on [0.84375, 1.25]: erf(x) = erx + P(s)/Q(s), s = x − 1
const PA = [
  -2.36211856075265944077e-03,
  4.14856118683748331666e-01,
  -3.72207876035701323847e-01,
  3.18346619901161753674e-01,
  -1.10894694282396677476e-01,
  3.54783043256182359371e-02,
  -2.16637559486879084300e-03,
];
const QA = [
  1,
  1.06420880400844228286e-01,
  5.40397917702171048937e-01,
  7.18286544141962662868e-02,
  1.26171219808761642112e-01,
  1.36370839120290507362e-02,
  1.19844998467991074170e-02,
];
// erfc on [1.25, 1/0.35]: erfc(x) = exp(−x² − 0.5625 + R(s)/S(s)) / x, s = 1/x²
const RA = [
  -9.86494403484714822705e-03,
  -6.93858572707181764372e-01,
  -1.05586262253232909814e+01,
  -6.23753324503260060396e+01,
  -1.62396669462573470355e+02,
  -1.84605092906711035994e+02,
  -8.12874355063065934246e+01,
  -9.81432934416914548592e+00,
];
const SA = [
  1,
  1.96512716674392571292e+01,
  1.37657754143519042600e+02,
  4.34565877475229228821e+02,
  6.45387271733267880336e+02,
  4.29008140027567833386e+02,
  1.08635005541779435134e+02,
  6.57024977031928170135e+00,
  -6.04244152148580987438e-02,
];
// erfc on [1/0.35, 28]
const RB = [
  -9.86494292470009928597e-03,
  -7.99283237680523006574e-01,
  -1.77579549177547519889e+01,
  -1.60636384855821916062e+02,
  -6.37566443368389627722e+02,
  -1.02509513161107724954e+03,
  -4.83519191608651397019e+02,
];
const SB = [
  1,
  3.03380607434824582924e+01,
  3.25792512996573918826e+02,
  1.53672958608443695994e+03,
  3.19985821950859553908e+03,
  2.55305040643316442583e+03,
  4.74528541206955367215e+02,
  -2.24409524465858183362e+01,
];

/** Σ c_k t^k by Horner's rule. */
function polynomial(coefficients: readonly number[], t: number): number {
  let result = 0;
  for (let k = coefficients.length - 1; k >= 0; k--) result = result * t + coefficients[k];
  return result;
}

// Splitting x into a high part (low 32 bits of the mantissa cleared) and a remainder lets
// exp(−x²) be computed as exp(−z²)·exp((z − x)(z + x)) without the rounding error of x².
const splitBuffer = new Float64Array(1);
const splitWords = new Uint32Array(splitBuffer.buffer);
function highPart(x: number): number {
  splitBuffer[0] = x;
  splitWords[0] = 0; // little-endian: word 0 holds the low 32 bits
  return splitBuffer[0];
}

/** The complementary error function `erfc(x) = 1 − erf(x)` on a number, to about one ulp (fdlibm's algorithm). PyTorch: `math.erfc`. */
export function erfc(x: number): number {
  if (Number.isNaN(x)) return NaN;
  const ax = Math.abs(x);
  if (ax < 0.84375) {
    const z = x * x;
    const y = polynomial(PP, z) / polynomial(QQ, z);
    return 1 - (x + x * y);
  }
  if (ax < 1.25) {
    const s = ax - 1;
    const erfPart = ERX + polynomial(PA, s) / polynomial(QA, s);
    return x > 0 ? 1 - erfPart : 1 + erfPart;
  }
  if (ax >= 28) return x > 0 ? 0 : 2;
  const s = 1 / (ax * ax);
  const ratio = ax < 1 / 0.35 ? polynomial(RA, s) / polynomial(SA, s) : polynomial(RB, s) / polynomial(SB, s);
  const z = highPart(ax);
  const tail = (Math.exp(-z * z - 0.5625) * Math.exp((z - ax) * (z + ax) + ratio)) / ax;
  return x > 0 ? tail : 2 - tail;
}

/** The error function `erf(x) = (2/√π) ∫₀ˣ e^(−t²) dt` on a number, as `1 − erfc(x)`. PyTorch: `math.erf`. */
export function erf(x: number): number {
  return 1 - erfc(x);
}

/** Φ(x), the standard normal CDF, accurate in both tails. */
export function normalCdf(x: number): number {
  return 0.5 * erfc(-x * Math.SQRT1_2);
}
