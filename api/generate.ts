import fs from 'node:fs';
import { CRD_FILE, expandCrd, renderTypes, TYPES_FILE } from './crd-source.js';

/** `npm run gen:api`: writes the CRD and the TypeScript types from crds/source/. */
const { crd, crdYaml } = expandCrd();
fs.writeFileSync(CRD_FILE, crdYaml);
fs.writeFileSync(TYPES_FILE, await renderTypes(crd));
process.stdout.write(`wrote ${CRD_FILE}\nwrote ${TYPES_FILE}\n`);
