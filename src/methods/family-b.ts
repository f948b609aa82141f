/**
 * The methods of issue 15's non-contrastive families, built from a TrainConfig: VICReg
 * (redundancy reduction), SimSiam and DINO (distillation), SwAV (clustering). createRun
 * (src/methods/trainer.ts) calls this for their method names; everything else about the run
 * (loader, AdamW, schedule, checkpoint) is the same as for the chapter's four methods.
 *
 * @module
 */
import type { Generator } from "../tensor/random.js";
import type { ContrastiveMethod } from "./common.js";
import type { TrainConfig } from "./config.js";
import { VICReg } from "./vicreg.js";
import { SimSiam } from "./simsiam.js";
import { DINO } from "./dino.js";
import { SwAV } from "./swav.js";

/** The method names this file builds. */
export const FAMILY_B_METHODS = ["vicreg", "simsiam", "dino", "swav"] as const;

/** Build the VICReg, SimSiam, DINO or SwAV model of `config` (config.temperature: DINO's τ_s, SwAV's τ). */
export function familyBMethod(config: TrainConfig, generator: Generator): ContrastiveMethod {
  const encoder = config.encoder;
  switch (config.method) {
    case "vicreg":
      return new VICReg({ encoder, generator });
    case "simsiam":
      return new SimSiam({ encoder, generator });
    case "dino":
      return new DINO({ encoder, studentTemperature: config.temperature, generator });
    case "swav":
      return new SwAV({ encoder, temperature: config.temperature, generator });
    default:
      throw new Error(`familyBMethod: '${config.method}' is not one of ${FAMILY_B_METHODS.join(", ")}`);
  }
}
