/**
 * A Node module-resolution hook for bench/peers.bench.ts: tfjs-core registers its gradients only
 * from its ES-module files (dist/register_all_gradients.js, which the `@tensorflow/tfjs` bundle
 * imports), and those write relative imports without the ".js" that Node's ESM loader requires.
 * This adds it, for relative imports made inside tfjs-core's dist folder only. The gradients land
 * in tfjs's global registry, shared with the CommonJS bundle that `import "@tensorflow/tfjs-core"` loads.
 */
interface ResolveContext {
  parentURL?: string;
}
type NextResolve = (specifier: string, context: ResolveContext) => Promise<unknown>;

/** Node's `resolve` hook (module.register): append ".js" to extensionless relative imports in tfjs-core/dist. */
export async function resolve(specifier: string, context: ResolveContext, nextResolve: NextResolve): Promise<unknown> {
  const relative = specifier.startsWith("./") || specifier.startsWith("../");
  if (relative && !specifier.endsWith(".js") && (context.parentURL ?? "").includes("/@tensorflow/tfjs-core/dist/")) {
    return nextResolve(`${specifier}.js`, context);
  }
  return nextResolve(specifier, context);
}
