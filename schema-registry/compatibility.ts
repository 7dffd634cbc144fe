import avro from 'avsc';

/**
 * Whether records written with a writer schema can be read as the reader schema (Avro schema
 * resolution, what the runtime does with every record), and if not, which field breaks it. Pure.
 */

export type Resolution = { ok: true } | { ok: false; field?: string; message: string };

export function resolveToReader(writerSchemaText: string, readerSchema: object): Resolution {
  let writer: avro.Type;
  try {
    writer = avro.Type.forSchema(JSON.parse(writerSchemaText) as avro.Schema);
  } catch (error) {
    return { ok: false, message: `not a valid Avro schema: ${(error as Error).message}` };
  }
  const reader = avro.Type.forSchema(readerSchema as avro.Schema);
  try {
    reader.createResolver(writer);
    return { ok: true };
  } catch (error) {
    return breakingField(writer, reader) ?? { ok: false, message: (error as Error).message };
  }
}

/** The first reader field that cannot be filled from the writer's records, with why. */
function breakingField(writer: avro.Type, reader: avro.Type): Resolution | undefined {
  if (!(reader instanceof avro.types.RecordType) || !(writer instanceof avro.types.RecordType)) return undefined;
  for (const field of reader.fields) {
    const written = writer.fields.find((f) => f.name === field.name || field.aliases.includes(f.name));
    if (!written) {
      if (field.defaultValue() === undefined) return { ok: false, field: field.name, message: `field ${field.name}: the writer schema has no such field and the reader's has no default` };
      continue;
    }
    try {
      field.type.createResolver(written.type);
    } catch {
      return { ok: false, field: field.name, message: `field ${field.name}: written as ${typeName(written.type)}, which cannot be read as ${typeName(field.type)}` };
    }
  }
  return undefined;
}

function typeName(type: avro.Type): string {
  return JSON.stringify(type.schema()).slice(0, 120);
}
