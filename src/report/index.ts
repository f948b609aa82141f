/**
 * Pictures that teach, as standalone SVG (no dependencies), and what they are computed from:
 * the loss curve with its chance line, the similarity heatmap, the PCA scatter of embeddings and
 * the nearest-neighbour grid. src/cli/pictures.ts draws them for every run directory.
 *
 * @module
 */
export { lossCurveSvg, heatmapSvg, type LossCurveOptions, type ReferenceLine, type HeatmapOptions } from "./svg.js";
export {
  pcaScatterSvg,
  neighbourGridSvg,
  type ScatterOptions,
  type NeighbourRow,
  type GridImage,
  type NeighbourGridOptions,
} from "./embedding-svg.js";
export { principalComponents, type PrincipalComponents, type PrincipalComponentsOptions } from "./pca.js";
export { nearestNeighbours, type NearestNeighbours, type NearestNeighboursOptions } from "./neighbours.js";
export { chanceLine, type ChanceSizes } from "./chance.js";
