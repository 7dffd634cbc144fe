import fs from 'node:fs';
import path from 'node:path';
import { CHART_CRD_FILE, CRD_FILE, expandCrd, REFERENCE_FILE, renderTypes, TYPES_FILE, versionSchema } from './crd-source.js';
import { renderReference } from './reference.js';

/** `npm run gen:api`: writes the CRD and the TypeScript types from crds/source/. */
const { crd, crdYaml } = expandCrd();
fs.writeFileSync(CRD_FILE, crdYaml);
fs.writeFileSync(CHART_CRD_FILE, crdYaml);
fs.writeFileSync(TYPES_FILE, await renderTypes(crd));
fs.mkdirSync(path.dirname(REFERENCE_FILE), { recursive: true });
fs.writeFileSync(REFERENCE_FILE, renderReference(versionSchema(crd)));
process.stdout.write([CRD_FILE, CHART_CRD_FILE, TYPES_FILE, REFERENCE_FILE].map((file) => `wrote ${file}\n`).join(''));
