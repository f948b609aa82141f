import { expect } from "chai";
import { quickstart } from "../../examples/quickstart.js";

describe("examples/quickstart (a softmax classifier on MNIST with the tensor layer alone)", () => {
  it("prints a falling loss", function() {
    this.timeout(60_000);
    const lines: string[] = [];
    const losses = quickstart({ steps: 40, log: (line) => lines.push(line) });
    expect(losses).to.have.length(40);
    expect(losses[0]).to.be.closeTo(Math.log(10), 0.05); // near-zero weights: uniform over 10 classes
    const early = losses.slice(0, 5).reduce((a, b) => a + b) / 5;
    const late = losses.slice(-5).reduce((a, b) => a + b) / 5;
    expect(late).to.be.lessThan(early * 0.6);
    expect(lines[0]).to.match(/^step +0 {2}loss 2\.\d{4}$/);
  });
});
