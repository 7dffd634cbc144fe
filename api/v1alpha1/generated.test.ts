import fs from 'node:fs';
import { CHART_CRD_FILE, CRD_FILE, expandCrd, expandRefs, REFERENCE_FILE, renderTypes, TYPES_FILE, versionSchema } from '../crd-source.js';
import { renderReference } from '../reference.js';

// crds/source/ is the one source of the AdPipeline schema; the CRD and the TypeScript types are
// generated from it and committed. These fail when someone edits the source and forgets `npm run gen:api`.

test('the committed CRD, and the copy in the Helm chart, are the expansion of crds/source', () => {
  expect(fs.readFileSync(CRD_FILE, 'utf8')).toBe(expandCrd().crdYaml);
  expect(fs.readFileSync(CHART_CRD_FILE, 'utf8')).toBe(expandCrd().crdYaml);
});

test('the committed TypeScript types match the schema', async () => {
  expect(fs.readFileSync(TYPES_FILE, 'utf8')).toBe(await renderTypes(expandCrd().crd));
});

test('the committed field reference (docs/reference) matches the schema', () => {
  const reference = renderReference(versionSchema(expandCrd().crd));
  expect(fs.readFileSync(REFERENCE_FILE, 'utf8')).toBe(reference);
  // Every spec field a person can set is documented, with its default.
  expect(reference).toContain('| `spec.sources.clicks.partitions` | integer |  | `6` |');
  expect(reference).toContain('partitions cannot be decreased');
});

test('the expanded CRD has no $ref left (the API server rejects them)', () => {
  expect(expandCrd().crdYaml).not.toContain('$ref');
});

test('$ref expansion puts use-site keys over the definition', () => {
  const definitions = { partitions: { type: 'integer', default: 6, minimum: 1 } };
  expect(expandRefs({ $ref: '#/definitions/partitions', default: 1 }, definitions)).toEqual({ type: 'integer', default: 1, minimum: 1 });
  expect(() => expandRefs({ $ref: '#/definitions/missing' }, definitions)).toThrow(/names no definition/);
  expect(() => expandRefs({ a: { $ref: '#/definitions/loop' } }, { loop: { items: { $ref: '#/definitions/loop' } } })).toThrow(/cycle/);
});
