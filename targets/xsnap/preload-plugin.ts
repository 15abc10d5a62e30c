/**
 * Rollup plugin for the preload bundle (bundle.ts, entry 'preload'): every module of ours gets
 *   import { registerPreloadModule as __tbxsPreloadRegister } from '.../preload/registry.ts';
 *   __tbxsPreloadRegister('src/x.ts', ['a', 'B'], () => [a, B]);
 * appended, listing all its top-level bindings (exported or not), so that preload/freeze.ts can
 * freeze what the module holds the way the XS linker freezes a preloaded module. Appended, not
 * prepended, so line numbers in XS error messages stay those of the esbuild output. Host side (Node).
 *
 * The calls keep every top-level binding alive (no tree shaking of unused ones): the preload bundle
 * is a test bundle, never the one that is measured or shipped.
 */
import { relative, resolve, sep } from 'node:path';
import type { Pattern, Program } from 'estree';
import type { Plugin } from 'rollup';

const REGISTER = '__tbxsPreloadRegister';

function patternNames(pattern: Pattern, out: string[]): void {
  switch (pattern.type) {
    case 'Identifier':
      out.push(pattern.name);
      return;
    case 'ObjectPattern':
      for (const p of pattern.properties) patternNames(p.type === 'RestElement' ? p.argument : p.value, out);
      return;
    case 'ArrayPattern':
      for (const p of pattern.elements) if (p) patternNames(p, out);
      return;
    case 'RestElement':
      patternNames(pattern.argument, out);
      return;
    case 'AssignmentPattern':
      patternNames(pattern.left, out);
      return;
    default:
      return; // MemberExpression: not a declaration
  }
}

/** The names a module declares at top level (imports excluded: the module that declares them registers them). */
export function topLevelNames(program: Program, id: string): string[] {
  const names: string[] = [];
  for (const statement of program.body) {
    const node = statement.type === 'ExportNamedDeclaration' || statement.type === 'ExportDefaultDeclaration' ? statement.declaration : statement;
    if (!node) continue;
    if (node.type === 'VariableDeclaration') {
      for (const d of node.declarations) patternNames(d.id, names);
    } else if (node.type === 'FunctionDeclaration' || node.type === 'ClassDeclaration') {
      if (node.id) names.push(node.id.name);
      // An anonymous default export has no name to reach it by: better to fail than to leave it unfrozen.
      else throw new Error(`preload bundle: ${id}: give the default export a name (the preload simulation reaches bindings by name)`);
    } else if (statement.type === 'ExportDefaultDeclaration' && node.type !== 'Identifier') {
      throw new Error(`preload bundle: ${id}: export a named binding instead of a default expression (the preload simulation reaches bindings by name)`);
    }
  }
  return names;
}

/**
 * `root`: the repository root; modules under it and outside node_modules are ours and get
 * registered. `registry`: the path of preload/registry.ts (not instrumented itself).
 */
export function preloadRegistryPlugin(root: string, registry: string): Plugin {
  const registryPath = resolve(registry);
  return {
    name: 'tbxs-preload-registry',
    transform(code, id) {
      if (id.startsWith('\0') || !/\.[cm]?[jt]s$/.test(id)) return null;
      const path = resolve(id);
      if (path === registryPath || path.split(sep).includes('node_modules')) return null;
      const rel = relative(root, path).split(sep).join('/');
      if (rel.startsWith('..')) return null;
      const names = topLevelNames(this.parse(code) as Program, rel);
      const tail =
        `\nimport { registerPreloadModule as ${REGISTER} } from ${JSON.stringify(registryPath)};\n` +
        `${REGISTER}(${JSON.stringify(rel)}, ${JSON.stringify(names)}, () => [${names.join(', ')}]);\n`;
      return { code: code + tail, map: null };
    },
  };
}
