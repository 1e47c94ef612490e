/**
 * Reading the deploy/ files for the tests in this folder: every YAML document of deploy/kubernetes, and
 * small typed accessors so the tests can assert on fields without `any`.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';

export const REPO = resolve(import.meta.dirname, '../..');
export const DEPLOY = join(REPO, 'deploy');
export const KUBERNETES_DIR = join(DEPLOY, 'kubernetes');

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

export interface ManifestDocument {
  readonly file: string;
  readonly index: number;
  readonly body: JsonObject;
}

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Every non-empty YAML document in deploy/kubernetes, in file order; a YAML error throws with its file. */
export function loadKubernetesDocuments(): ManifestDocument[] {
  const out: ManifestDocument[] = [];
  for (const file of yamlFiles(KUBERNETES_DIR)) {
    const docs = parseAllDocuments(readFileSync(join(KUBERNETES_DIR, file), 'utf8'));
    docs.forEach((doc, index) => {
      if (doc.errors.length > 0) throw new Error(`${file} document ${index}: ${doc.errors[0]?.message}`);
      const body: unknown = doc.toJS();
      if (body === null || body === undefined) return;
      if (!isObject(body)) throw new Error(`${file} document ${index} is not a mapping`);
      out.push({ file, index, body });
    });
  }
  return out;
}

export function yamlFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml') || f.endsWith('.yml'))
    .sort();
}

/** `get(doc, 'spec', 'template', 'spec')`: walks objects and arrays (numeric keys), undefined when absent. */
export function get(root: Json | undefined, ...path: (string | number)[]): Json | undefined {
  let node: Json | undefined = root;
  for (const key of path) {
    if (typeof key === 'number') node = Array.isArray(node) ? node[key] : undefined;
    else node = isObject(node) ? node[key] : undefined;
    if (node === undefined) return undefined;
  }
  return node;
}

export function getObject(root: Json | undefined, ...path: (string | number)[]): JsonObject {
  const node = get(root, ...path);
  if (!isObject(node)) throw new Error(`expected an object at ${path.join('.')}`);
  return node;
}

export function getArray(root: Json | undefined, ...path: (string | number)[]): Json[] {
  const node = get(root, ...path);
  if (!Array.isArray(node)) throw new Error(`expected an array at ${path.join('.')}`);
  return node;
}

export function getNumber(root: Json | undefined, ...path: (string | number)[]): number {
  const node = get(root, ...path);
  if (typeof node !== 'number') throw new Error(`expected a number at ${path.join('.')}`);
  return node;
}

export function getString(root: Json | undefined, ...path: (string | number)[]): string {
  const node = get(root, ...path);
  if (typeof node !== 'string') throw new Error(`expected a string at ${path.join('.')}`);
  return node;
}

export function findKind(docs: readonly ManifestDocument[], kind: string, name?: string): JsonObject {
  const found = docs.filter(
    (d) => d.body.kind === kind && (name === undefined || get(d.body, 'metadata', 'name') === name),
  );
  if (found.length !== 1) throw new Error(`expected one ${kind} ${name ?? ''}, found ${found.length}`);
  return (found[0] as ManifestDocument).body;
}
