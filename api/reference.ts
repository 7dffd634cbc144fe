/**
 * The AdPipeline field reference (docs/reference/adpipeline-v1alpha1.md), rendered from the expanded
 * CRD schema so it can never disagree with what the API server enforces.
 */

type Schema = {
  type?: string;
  description?: string;
  default?: unknown;
  enum?: unknown[];
  pattern?: string;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  required?: string[];
  properties?: Record<string, Schema>;
  items?: Schema;
  additionalProperties?: Schema | boolean;
  anyOf?: Schema[];
  'x-kubernetes-int-or-string'?: boolean;
  'x-kubernetes-validations'?: { rule: string; message?: string }[];
};

const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\s*\n\s*/g, ' ').trim();
const code = (value: unknown) => `\`${typeof value === 'string' ? value : JSON.stringify(value)}\``;

function typeOf(schema: Schema): string {
  if (schema['x-kubernetes-int-or-string']) return 'int or string';
  if (schema.type === 'array') return `array of ${schema.items ? typeOf(schema.items) : 'any'}`;
  if (schema.type === 'object' && schema.additionalProperties && typeof schema.additionalProperties === 'object') return `map of ${typeOf(schema.additionalProperties)}`;
  return schema.type ?? 'any';
}

function constraints(schema: Schema): string[] {
  const out: string[] = [];
  if (schema.enum) out.push(`one of ${schema.enum.map(code).join(', ')}`);
  if (schema.additionalProperties && typeof schema.additionalProperties === 'object' && schema.additionalProperties.enum) out.push(`values: ${schema.additionalProperties.enum.map(code).join(', ')}`);
  if (schema.pattern) out.push(`pattern ${code(schema.pattern)}`);
  if (schema.minimum !== undefined) out.push(`≥ ${schema.minimum}`);
  if (schema.maximum !== undefined) out.push(`≤ ${schema.maximum}`);
  if (schema.minLength !== undefined) out.push(`length ≥ ${schema.minLength}`);
  if (schema.maxLength !== undefined) out.push(`length ≤ ${schema.maxLength}`);
  if (schema.minItems !== undefined) out.push(`items ≥ ${schema.minItems}`);
  if (schema.maxItems !== undefined) out.push(`items ≤ ${schema.maxItems}`);
  for (const rule of schema['x-kubernetes-validations'] ?? []) out.push(`rule ${code(rule.rule.replace(/\s+/g, ' '))}${rule.message ? `: “${rule.message}”` : ''}`);
  return out;
}

function rows(schema: Schema, prefix: string, required: boolean, out: string[]): void {
  if (prefix) {
    const fields = [
      code(prefix),
      typeOf(schema),
      required ? 'yes' : '',
      schema.default === undefined ? '' : code(schema.default),
      cell([schema.description ?? '', ...constraints(schema)].filter(Boolean).join(' — ')),
    ];
    out.push(`| ${fields.join(' | ')} |`);
  }
  // An array of objects lists its items' fields under `field[]`.
  const container = schema.type === 'array' && schema.items?.properties ? schema.items : schema;
  const base = container === schema ? prefix : `${prefix}[]`;
  for (const [name, child] of Object.entries(container.properties ?? {})) rows(child, base ? `${base}.${name}` : name, container.required?.includes(name) ?? false, out);
}

export function renderReference(openApiSchema: Schema): string {
  const lines = [
    '# AdPipeline v1alpha1 field reference',
    '',
    'GENERATED from `crds/source/adpipeline.v1alpha1.yaml` by `npm run gen:api`; a test fails when it is stale.',
    'Defaults are applied by the API server; rules (CEL) are enforced by it, with the message shown.',
    '',
  ];
  const props = openApiSchema.properties ?? {};
  for (const section of ['spec', 'status'] as const) {
    const schema = props[section];
    if (!schema) continue;
    lines.push(`## ${section}`, '', cell(schema.description ?? ''), '');
    const rules = constraints({ 'x-kubernetes-validations': schema['x-kubernetes-validations'] });
    if (rules.length) lines.push(...rules.map((r) => `- ${r}`), '');
    lines.push('| field | type | required | default | description and validation |', '|---|---|---|---|---|');
    const out: string[] = [];
    rows(schema, '', true, out);
    lines.push(...out.map((row) => row.replace(/^\| `/, `| \`${section}.`)), '');
  }
  return lines.join('\n');
}
