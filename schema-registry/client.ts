import http from 'node:http';
import https from 'node:https';

/**
 * A client of the Confluent Schema Registry REST API (what the stack's Apicurio Registry serves
 * under /apis/ccompat/v7), shared by the runtime (schemas by id), the producer (register) and the
 * operator (versions, compatibility level). Basic auth and a CA for https come from the caller,
 * who reads them from files; they never appear in an error message.
 */

export interface RegistryConnection {
  /** Base URL of the Confluent-compatible API, e.g. http://host:8080/apis/ccompat/v7. */
  url: string;
  basicAuth?: { username: string; password: string };
  /** PEM of the CA that signed an https registry's certificate (default: the system's). */
  ca?: string | Buffer;
  timeoutMs?: number;
}

/** `unavailable`: the registry did not answer or answered 5xx/429, so trying later can help. */
export class RegistryError extends Error {
  constructor(
    message: string,
    readonly status: number | undefined,
    readonly unavailable: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'RegistryError';
  }
}

export const COMPATIBILITY_LEVELS = ['BACKWARD', 'BACKWARD_TRANSITIVE', 'FORWARD', 'FORWARD_TRANSITIVE', 'FULL', 'FULL_TRANSITIVE', 'NONE'] as const;
export type CompatibilityLevel = (typeof COMPATIBILITY_LEVELS)[number];

const CONTENT_TYPE = 'application/vnd.schemaregistry.v1+json';
const TLS_TRUST_ERROR = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER/;

export class SchemaRegistryClient {
  private readonly base: string;

  constructor(private readonly connection: RegistryConnection) {
    this.base = connection.url.replace(/\/+$/, '');
  }

  /** The schema text of a global id; undefined when the registry does not know the id. */
  async schemaById(id: number): Promise<string | undefined> {
    const response = await this.call('GET', `/schemas/ids/${id}`, undefined, [404]);
    if (response.status === 404) return undefined;
    const schema = (response.body as { schema?: unknown }).schema;
    if (typeof schema !== 'string') throw new RegistryError(`schema registry ${this.base}: schema id ${id} has no schema text`, response.status, false);
    return schema;
  }

  /** Registers a schema under a subject (or finds it there): its global id. */
  async register(subject: string, schema: string): Promise<number> {
    const response = await this.call('POST', `/subjects/${encodeURIComponent(subject)}/versions`, { schema });
    return idOf(response.body, `registering under ${subject}`, this.base);
  }

  /** The versions registered under a subject; [] for a subject that has none. */
  async versions(subject: string): Promise<number[]> {
    const response = await this.call('GET', `/subjects/${encodeURIComponent(subject)}/versions`, undefined, [404]);
    return response.status === 404 ? [] : (response.body as number[]);
  }

  async version(subject: string, version: number): Promise<{ id: number; version: number; schema: string }> {
    const response = await this.call('GET', `/subjects/${encodeURIComponent(subject)}/versions/${version}`);
    return response.body as { id: number; version: number; schema: string };
  }

  async compatibility(subject: string): Promise<CompatibilityLevel | undefined> {
    const response = await this.call('GET', `/config/${encodeURIComponent(subject)}`, undefined, [404]);
    if (response.status === 404) return undefined;
    const body = response.body as { compatibilityLevel?: CompatibilityLevel; compatibility?: CompatibilityLevel };
    return body.compatibilityLevel ?? body.compatibility;
  }

  async setCompatibility(subject: string, level: CompatibilityLevel): Promise<void> {
    await this.call('PUT', `/config/${encodeURIComponent(subject)}`, { compatibility: level });
  }

  private call(method: string, path: string, body?: unknown, accepted: number[] = []): Promise<{ status: number; body: unknown }> {
    const url = new URL(this.base + path);
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const headers: Record<string, string> = { accept: CONTENT_TYPE };
    if (payload !== undefined) headers['content-type'] = CONTENT_TYPE;
    const auth = this.connection.basicAuth;
    if (auth) headers.authorization = `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`;
    const what = `schema registry ${this.base}: ${method} ${path}`;
    return new Promise((resolve, reject) => {
      const options = { method, headers, timeout: this.connection.timeoutMs ?? 10_000, ...(url.protocol === 'https:' && this.connection.ca ? { ca: this.connection.ca } : {}) };
      const request = (url.protocol === 'https:' ? https : http).request(url, options, (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('error', (cause) => reject(new RegistryError(`${what} failed: ${cause.message}`, undefined, true, { cause })));
        response.on('end', () => {
          const status = response.statusCode ?? 0;
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown;
          try {
            parsed = text ? JSON.parse(text) : undefined;
          } catch {
            parsed = text;
          }
          if ((status >= 200 && status < 300) || accepted.includes(status)) return resolve({ status, body: parsed });
          const message = typeof parsed === 'object' && parsed !== null && 'message' in parsed ? String((parsed as { message: unknown }).message) : text.slice(0, 300);
          reject(new RegistryError(`${what} answered ${status}: ${message}`, status, status >= 500 || status === 429));
        });
      });
      request.on('timeout', () => request.destroy(new Error(`no answer in ${options.timeout} ms`)));
      // A certificate the CA does not vouch for is a configuration to fix, not an outage to wait out.
      request.on('error', (cause: NodeJS.ErrnoException) => reject(new RegistryError(`${what} failed: ${cause.message}`, undefined, !TLS_TRUST_ERROR.test(cause.code ?? ''), { cause })));
      request.end(payload);
    });
  }
}

function idOf(body: unknown, what: string, base: string): number {
  const id = (body as { id?: unknown } | undefined)?.id;
  if (typeof id !== 'number') throw new RegistryError(`schema registry ${base}: ${what} returned no id`, undefined, false);
  return id;
}

/** The subject of a topic's record values under the registry's default naming (TopicNameStrategy). */
export function valueSubject(topic: string): string {
  return `${topic}-value`;
}
