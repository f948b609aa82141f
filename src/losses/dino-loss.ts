/**
 * DINO's loss: the student's distribution should match the teacher's centered and sharpened one.
 * Source: Caron et al., "Emerging Properties in Self-Supervised Vision Transformers" (DINO),
 * ICCV 2021, eqs. 1–4 and Algorithm 1 (facebookresearch/dino, main_dino.py `DINOLoss`).
 *
 *   P_s(x)  = softmax(g_s(x) / τ_s)                    student, τ_s = 0.1
 *   P_t(x)  = softmax((g_t(x) − c) / τ_t)              teacher, τ_t = 0.04, no gradient (sharpening: τ_t < τ_s)
 *   H(a, b) = −Σ_k a_k log b_k                          cross entropy over the K output dims
 *   L = (1/#pairs) Σ_{t ∈ teacher views} Σ_{s ∈ student views, s ≠ t} mean_n H(P_t(x_t)_n, P_s(x_s)_n)
 *   c ← m c + (1 − m) · mean over every teacher row of g_t(x),   m = 0.9   (after the loss, no gradient)
 *
 * With two views, one each: L = ½[H(P_t(x₁), P_s(x₂)) + H(P_t(x₂), P_s(x₁))].
 * Centering (subtracting c) keeps one output dim from dominating; sharpening (a small τ_t) keeps the
 * teacher from going uniform. Either alone collapses (the paper's Fig. 7: centering alone → uniform,
 * sharpening alone → one dim); together they balance. The teacher is an EMA of the student.
 *
 * Gradient: the teacher side is a constant (stop-gradient), so for a student row s with teacher
 * row p = P_t: ∂H/∂s_k = (softmax(s/τ_s)_k − p_k) / τ_s (the log-softmax rule), averaged over the
 * batch and the pairs. Σ_k p_k = 1 is what makes the rule this simple.
 *
 * Shapes: each student and teacher output (N, K); the center (1, K); the loss is a scalar.
 *
 * PyTorch (main_dino.py, DINOLoss.forward, two crops):
 *   student_out = (student_output / self.student_temp).chunk(2)
 *   teacher_out = F.softmax((teacher_output - self.center) / temp, dim=-1).detach().chunk(2)
 *   for iq, q in enumerate(teacher_out):
 *       for v in range(len(student_out)):
 *           if v == iq: continue
 *           total_loss += torch.sum(-q * F.log_softmax(student_out[v], dim=-1), dim=-1).mean(); n_loss_terms += 1
 *   total_loss /= n_loss_terms; self.update_center(teacher_output)
 *   # update_center: batch_center = teacher_output.sum(0, keepdim=True) / len(teacher_output)
 *   #                self.center = self.center * m + batch_center * (1 - m)
 *
 * @module
 */
import type { Tensor } from "../tensor/tensor.js";
import { shapeToString } from "../tensor/shape.js";
import { noGrad } from "../autograd/tape.js";
import { cat } from "../ops/indexing.js";
import { checkSameDtype } from "../ops/util.js";
import { checkOptions } from "../tensor/options.js";
import { checkEmbeddings, checkFinite, checkSameShape, checkTemperature } from "./checks.js";

/** Options of {@link dinoLoss}: the two temperatures (facebookresearch/dino `DINOLoss` `student_temp`, `teacher_temp`). */
export interface DINOLossOptions {
  /** τ_s, the student's temperature (default 0.1). */
  studentTemperature?: number;
  /** τ_t, the teacher's temperature (default 0.04; the official code can warm it up from 0.04 to 0.07). */
  teacherTemperature?: number;
}

function checkCenter(op: string, center: Tensor, k: number): void {
  if (center.ndim !== 2 || center.shape[0] !== 1 || center.shape[1] !== k) {
    throw new Error(`${op}: center must have shape [1, ${k}] (one value per output dim), got shape ${shapeToString(center.shape)}`);
  }
  checkFinite(op, "center", center);
}

/** P_t = softmax((g_t − c)/τ_t) along the K dims, detached: the teacher's targets. (N, K), (1, K) → (N, K). */
export function dinoTeacherProbabilities(teacherOutput: Tensor, center: Tensor, teacherTemperature = 0.04): Tensor {
  checkEmbeddings("dinoTeacherProbabilities", "teacherOutput", teacherOutput);
  checkCenter("dinoTeacherProbabilities", center, teacherOutput.shape[1]);
  const tau = checkTemperature("dinoTeacherProbabilities", teacherTemperature);
  return noGrad(() => teacherOutput.detach().sub(center.detach()).div(tau).softmax(1)); // (N, K), rows sum to 1
}

/** DINO's cross entropy between teacher and student distributions (see the file's header). */
export function dinoLoss(
  studentOutputs: readonly Tensor[],
  teacherOutputs: readonly Tensor[],
  center: Tensor,
  options: DINOLossOptions = {},
): Tensor {
  checkOptions("dinoLoss", options, { studentTemperature: true, teacherTemperature: true });
  if (!Array.isArray(studentOutputs) || !Array.isArray(teacherOutputs)) {
    throw new Error("dinoLoss: studentOutputs and teacherOutputs must be arrays of (N, K) tensors, one per view");
  }
  if (teacherOutputs.length < 1 || studentOutputs.length < 2 || teacherOutputs.length > studentOutputs.length) {
    throw new Error(
      `dinoLoss: needs ≥ 1 teacher view and ≥ 2 student views, the teacher's views being the first students' ` +
        `(got ${teacherOutputs.length} teacher, ${studentOutputs.length} student)`,
    );
  }
  const first = checkEmbeddings("dinoLoss", "studentOutputs[0]", studentOutputs[0]);
  studentOutputs.forEach((s, v) => {
    checkEmbeddings("dinoLoss", `studentOutputs[${v}]`, s);
    checkSameShape("dinoLoss", "studentOutputs[0]", first, `studentOutputs[${v}]`, s);
    checkSameDtype("dinoLoss", "studentOutputs[0]", first, `studentOutputs[${v}]`, s);
  });
  teacherOutputs.forEach((t, v) => {
    checkEmbeddings("dinoLoss", `teacherOutputs[${v}]`, t);
    checkSameShape("dinoLoss", "studentOutputs[0]", first, `teacherOutputs[${v}]`, t);
    checkSameDtype("dinoLoss", "studentOutputs[0]", first, `teacherOutputs[${v}]`, t);
  });
  checkCenter("dinoLoss", center, first.shape[1]);
  const studentTau = checkTemperature("dinoLoss", options.studentTemperature ?? 0.1);
  const teacherTau = checkTemperature("dinoLoss", options.teacherTemperature ?? 0.04);

  const targets = teacherOutputs.map((t) => dinoTeacherProbabilities(t, center, teacherTau)); // each (N, K), constant
  const logProbabilities = studentOutputs.map((s) => s.div(studentTau).logSoftmax(1)); // each (N, K)
  let total: Tensor | null = null;
  let pairs = 0;
  for (let t = 0; t < targets.length; t++) {
    for (let s = 0; s < logProbabilities.length; s++) {
      if (s === t) continue; // a view is not its own target
      const crossEntropy = targets[t].mul(logProbabilities[s]).sum(1).neg().mean(); // mean_n H(P_t, P_s)
      total = total === null ? crossEntropy : total.add(crossEntropy);
      pairs += 1;
    }
  }
  return total!.div(pairs);
}

/**
 * c ← m c + (1 − m) · mean_n g_t(x)_n over every row of every teacher view: the EMA of the
 * teacher's mean output, with no gradient. Returns the new center (1, K); the method stores it.
 */
export function dinoCenterUpdate(center: Tensor, teacherOutputs: readonly Tensor[], momentum = 0.9): Tensor {
  if (!Array.isArray(teacherOutputs) || teacherOutputs.length < 1) {
    throw new Error("dinoCenterUpdate: teacherOutputs must be a non-empty array of (N, K) tensors");
  }
  teacherOutputs.forEach((t, v) => checkEmbeddings("dinoCenterUpdate", `teacherOutputs[${v}]`, t));
  checkCenter("dinoCenterUpdate", center, teacherOutputs[0].shape[1]);
  if (typeof momentum !== "number" || !(momentum >= 0 && momentum <= 1)) {
    throw new Error(`dinoCenterUpdate: momentum must be in [0, 1], got ${String(momentum)}`);
  }
  return noGrad(() => {
    const batchCenter = cat(teacherOutputs.map((t) => t.detach()), 0).mean(0, true); // (1, K)
    return center.detach().mul(momentum).add(batchCenter.mul(1 - momentum)); // (1, K)
  });
}
