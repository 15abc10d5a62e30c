/**
 * The half of Moddable's preload check that a run cannot see: closures. xsl warns "no const" for
 * every variable a preloaded closure captures that is not a const, because such a variable must
 * live in RAM at run time; a closure exists at preload time when a module's top level made it:
 * a function of the module reading a module-level `let`/`var`, or a call made at top level to a
 * function that returns (or stores) a closure over its own parameters or `let`s.
 *
 * Read from the TypeScript sources, syntactically (no type checker: the rules are about
 * declarations, not types):
 *   1. no `let` or `var` at a module's top level;
 *   2. no call made at top level (in a const initializer, an expression statement, an IIFE) to a
 *      function of ours, in the same module or imported from one, whose body holds a nested
 *      function that reads one of that function's parameters or `let`/`var` locals.
 * Shadowing inside the nested function is honoured; everything else errs on the side of a report.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';

export interface ClosureFinding {
  file: string;
  line: number;
  message: string;
}

type FunctionLike = ts.FunctionDeclaration | ts.FunctionExpression | ts.ArrowFunction;

function isFunctionLike(node: ts.Node): node is FunctionLike | ts.MethodDeclaration | ts.ConstructorDeclaration | ts.AccessorDeclaration {
  return ts.isFunctionDeclaration(node) || ts.isFunctionExpression(node) || ts.isArrowFunction(node) || ts.isMethodDeclaration(node) || ts.isConstructorDeclaration(node) || ts.isAccessor(node);
}

function bindingNames(name: ts.BindingName, out: Set<string>): void {
  if (ts.isIdentifier(name)) out.add(name.text);
  else for (const e of name.elements) if (!ts.isOmittedExpression(e)) bindingNames(e.name, out);
}

/** The parameters and let/var locals of `fn` (not of functions nested in it). */
function mutableLocals(fn: FunctionLike): Set<string> {
  const names = new Set<string>();
  for (const p of fn.parameters) bindingNames(p.name, names);
  const visit = (node: ts.Node): void => {
    if (node !== fn && isFunctionLike(node)) return;
    if (ts.isVariableDeclarationList(node) && !(node.flags & ts.NodeFlags.Const)) for (const d of node.declarations) bindingNames(d.name, names);
    ts.forEachChild(node, visit);
  };
  if (fn.body) visit(fn.body);
  return names;
}

/** Names a nested function declares itself (parameters, locals): they shadow the outer ones. */
function declaredIn(fn: ts.Node): Set<string> {
  const names = new Set<string>();
  if (isFunctionLike(fn)) for (const p of fn.parameters) bindingNames(p.name, names);
  const visit = (node: ts.Node): void => {
    if (ts.isVariableDeclaration(node)) bindingNames(node.name, names);
    ts.forEachChild(node, visit);
  };
  ts.forEachChild(fn, visit);
  return names;
}

/** A parameter or let/var of `fn` read by a function nested in it, or undefined. */
function capturedMutable(fn: FunctionLike): string | undefined {
  const outer = mutableLocals(fn);
  if (outer.size === 0 || !fn.body) return undefined;
  let found: string | undefined;
  const inNested = (node: ts.Node, shadowed: Set<string>): void => {
    if (found) return;
    if (isFunctionLike(node)) {
      const inner = declaredIn(node);
      const next = new Set([...shadowed, ...inner]);
      ts.forEachChild(node, (child) => inNested(child, next));
      return;
    }
    if (ts.isIdentifier(node) && outer.has(node.text) && !shadowed.has(node.text)) {
      const parent = node.parent;
      const isPropertyName = (ts.isPropertyAccessExpression(parent) && parent.name === node) || (ts.isPropertyAssignment(parent) && parent.name === node);
      if (!isPropertyName) found = node.text;
    }
    ts.forEachChild(node, (child) => inNested(child, shadowed));
  };
  const visit = (node: ts.Node): void => {
    if (found) return;
    if (node !== fn && isFunctionLike(node)) {
      inNested(node, new Set(declaredIn(node)));
      return;
    }
    ts.forEachChild(node, visit);
  };
  visit(fn.body); // the body itself may be the nested function: (x) => () => x
  return found;
}

interface ModuleInfo {
  source: ts.SourceFile;
  /** Top-level function declarations and const arrow/function expressions, by name. */
  functions: Map<string, FunctionLike>;
  /** Imported name -> [module path, exported name]. */
  imports: Map<string, [string, string]>;
}

function readModule(path: string, text = readFileSync(path, 'utf8')): ModuleInfo {
  const source = ts.createSourceFile(path, text, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
  const functions = new Map<string, FunctionLike>();
  const imports = new Map<string, [string, string]>();
  for (const s of source.statements) {
    if (ts.isFunctionDeclaration(s) && s.name) functions.set(s.name.text, s);
    if (ts.isVariableStatement(s)) {
      for (const d of s.declarationList.declarations) {
        if (ts.isIdentifier(d.name) && d.initializer && (ts.isArrowFunction(d.initializer) || ts.isFunctionExpression(d.initializer))) functions.set(d.name.text, d.initializer);
      }
    }
    if (ts.isImportDeclaration(s) && ts.isStringLiteral(s.moduleSpecifier) && s.moduleSpecifier.text.startsWith('.') && s.importClause) {
      const from = resolveImport(path, s.moduleSpecifier.text);
      const bindings = s.importClause.namedBindings;
      if (from && bindings && ts.isNamedImports(bindings)) {
        for (const e of bindings.elements) imports.set(e.name.text, [from, (e.propertyName ?? e.name).text]);
      }
    }
  }
  return { source, functions, imports };
}

function resolveImport(from: string, specifier: string): string | undefined {
  const base = resolve(dirname(from), specifier);
  for (const candidate of [base + '.ts', join(base, 'index.ts'), base]) {
    try {
      readFileSync(candidate);
      if (candidate.endsWith('.ts')) return candidate;
    } catch {
      // next candidate
    }
  }
  return undefined;
}

/** Re-exports (`export { x } from './y'`) followed to the module that defines `name`. */
function exportedFunction(path: string, name: string, cache: Map<string, ModuleInfo>, depth = 0): FunctionLike | undefined {
  if (depth > 8) return undefined;
  let info = cache.get(path);
  if (!info) cache.set(path, (info = readModule(path)));
  const own = info.functions.get(name);
  if (own) return own;
  for (const s of info.source.statements) {
    if (ts.isExportDeclaration(s) && s.moduleSpecifier && ts.isStringLiteral(s.moduleSpecifier) && s.exportClause && ts.isNamedExports(s.exportClause)) {
      for (const e of s.exportClause.elements) {
        if (e.name.text !== name) continue;
        const target = resolveImport(path, s.moduleSpecifier.text);
        if (target) return exportedFunction(target, (e.propertyName ?? e.name).text, cache, depth + 1);
      }
    }
  }
  return undefined;
}

/** Checks one module (its source given, or read from `path`). `root` makes the paths in findings relative. */
export function checkPreloadClosures(path: string, root: string, text?: string, cache = new Map<string, ModuleInfo>()): ClosureFinding[] {
  const info = text === undefined ? (cache.get(path) ?? readModule(path)) : readModule(path, text);
  cache.set(path, info);
  const file = relative(root, path);
  const findings: ClosureFinding[] = [];
  const at = (node: ts.Node) => info.source.getLineAndCharacterOfPosition(node.getStart()).line + 1;
  const callee = (expression: ts.Expression): FunctionLike | undefined => {
    if (ts.isArrowFunction(expression) || ts.isFunctionExpression(expression)) return expression; // an IIFE
    if (ts.isParenthesizedExpression(expression)) return callee(expression.expression);
    if (!ts.isIdentifier(expression)) return undefined; // a method of a global (Object.freeze) or of a value
    const local = info.functions.get(expression.text);
    if (local) return local;
    const imported = info.imports.get(expression.text);
    return imported ? exportedFunction(imported[0], imported[1], cache) : undefined;
  };
  /** Walks code that runs at load: stops at function bodies, looks at every call. */
  const topLevel = (node: ts.Node): void => {
    if (isFunctionLike(node) || ts.isClassDeclaration(node) || ts.isClassExpression(node)) return;
    if (ts.isCallExpression(node)) {
      const fn = callee(node.expression);
      const captured = fn && capturedMutable(fn);
      if (captured) {
        const name = ts.isIdentifier(node.expression) ? node.expression.text + '()' : 'an IIFE';
        findings.push({ file, line: at(node), message: 'called at top level, ' + name + ' makes a closure over its parameter or let `' + captured + '` (xsl: no const; copy it into a const first)' });
      }
    }
    ts.forEachChild(node, topLevel);
  };
  for (const s of info.source.statements) {
    if (ts.isVariableStatement(s) && !(s.declarationList.flags & ts.NodeFlags.Const)) {
      const names = new Set<string>();
      for (const d of s.declarationList.declarations) bindingNames(d.name, names);
      findings.push({ file, line: at(s), message: 'module-level let/var ' + [...names].join(', ') + ': read by a preloaded function it lives in RAM (xsl: no const)' });
    }
    if (ts.isVariableStatement(s) || ts.isExpressionStatement(s) || ts.isExportAssignment(s)) topLevel(s);
  }
  return findings;
}
