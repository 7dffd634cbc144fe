import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { compile, type JSONSchema } from 'json-schema-to-typescript';
import { parseAllDocuments, stringify } from 'yaml';

/**
 * The AdPipeline schema has one source, crds/source/adpipeline.v1alpha1.yaml. From it come the CRD
 * the API server takes (with every `$ref` expanded, since CRD schemas allow none) and the TypeScript
 * types that operator and runtime import. Both outputs are committed; a test fails when stale.
 */

const here = path.dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = here.split(path.sep).includes('dist') ? path.resolve(here, '..', '..') : path.resolve(here, '..');
export const SOURCE_FILE = path.join(REPO_ROOT, 'crds', 'source', 'adpipeline.v1alpha1.yaml');
export const CRD_FILE = path.join(REPO_ROOT, 'crds', 'adpipelines.adpipe.io.yaml');
export const REFERENCE_FILE = path.join(REPO_ROOT, 'docs', 'reference', 'adpipeline-v1alpha1.md');
/** The Helm chart ships the same CRD (Helm installs what is in a chart's crds/ before the templates). */
export const CHART_CRD_FILE = path.join(REPO_ROOT, 'helm', 'adpipe-operator', 'crds', 'adpipelines.adpipe.io.yaml');
export const TYPES_FILE = path.join(REPO_ROOT, 'api', 'v1alpha1', 'generated.ts');

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

const isObject = (value: Json | undefined): value is JsonObject => typeof value === 'object' && value !== null && !Array.isArray(value);

/** Replaces each `{ $ref: '#/definitions/x', ...overrides }` by the definition with the overrides on top. */
export function expandRefs(node: Json, definitions: JsonObject, trail: string[] = []): Json {
  if (Array.isArray(node)) return node.map((item) => expandRefs(item, definitions, trail));
  if (!isObject(node)) return node;
  const { $ref, ...rest } = node;
  let base: JsonObject = {};
  if (typeof $ref === 'string') {
    const name = $ref.replace(/^#\/definitions\//, '');
    const definition = definitions[name];
    if (!isObject(definition)) throw new Error(`${SOURCE_FILE}: $ref '${$ref}' names no definition`);
    if (trail.includes(name)) throw new Error(`${SOURCE_FILE}: $ref cycle ${[...trail, name].join(' → ')}`);
    base = expandRefs(definition, definitions, [...trail, name]) as JsonObject;
  }
  const expanded: JsonObject = { ...base };
  for (const [key, value] of Object.entries(rest)) expanded[key] = expandRefs(value, definitions, trail);
  return expanded;
}

export interface ExpandedApi {
  crd: JsonObject;
  crdYaml: string;
}

export function expandCrd(sourceText = fs.readFileSync(SOURCE_FILE, 'utf8')): ExpandedApi {
  const documents = parseAllDocuments(sourceText);
  if (documents.length !== 2) throw new Error(`${SOURCE_FILE}: expected two documents (definitions, then the CRD)`);
  const [definitionsDoc, crdDoc] = documents.map((doc) => {
    if (doc.errors.length) throw new Error(`${SOURCE_FILE}: ${doc.errors[0]!.message}`);
    return doc.toJS() as JsonObject;
  });
  const definitions = definitionsDoc!['definitions'];
  if (!isObject(definitions)) throw new Error(`${SOURCE_FILE}: the first document must hold 'definitions'`);
  const crd = expandRefs(crdDoc!, definitions) as JsonObject;
  const header = [
    '# GENERATED from crds/source/adpipeline.v1alpha1.yaml by `npm run gen:api`. Do not edit: edit the',
    '# source and regenerate. The operator never installs this CRD; apply it (or the Helm chart) first.',
    '',
  ].join('\n');
  return { crd, crdYaml: header + stringify(crd, { lineWidth: 0 }) };
}

export function versionSchema(crd: JsonObject): JsonObject {
  const spec = crd['spec'] as JsonObject;
  const version = (spec['versions'] as JsonObject[])[0]!;
  return (version['schema'] as JsonObject)['openAPIV3Schema'] as JsonObject;
}

/** TypeScript types for spec and status, generated from the expanded schema. */
export async function renderTypes(crd: JsonObject): Promise<string> {
  const properties = versionSchema(crd)['properties'] as JsonObject;
  const options = { bannerComment: '', additionalProperties: false, ignoreMinAndMaxItems: true, style: { singleQuote: true, printWidth: 120 } } as const;
  const spec = await compile({ ...(properties['spec'] as JsonObject), title: 'AdPipelineSpec' } as JSONSchema, 'AdPipelineSpec', options);
  const status = await compile({ ...(properties['status'] as JsonObject), title: 'AdPipelineStatus' } as JSONSchema, 'AdPipelineStatus', options);
  return [
    '// GENERATED from crds/source/adpipeline.v1alpha1.yaml by `npm run gen:api`. Do not edit.',
    '// Fields with a schema default are optional here: the API server fills them in before anyone reads them.',
    '',
    spec.trim(),
    '',
    status.trim(),
    '',
  ].join('\n');
}
