/**
 * The few calls the operator makes to Prometheus's HTTP API: instant queries whose answers are
 * vectors. A thin adapter; errors carry Prometheus's own message.
 */

export interface Sample {
  labels: Record<string, string>;
  value: number;
}

interface QueryAnswer {
  status: 'success' | 'error';
  error?: string;
  data?: { resultType: string; result: { metric: Record<string, string>; value: [number, string] }[] };
}

export class PrometheusClient {
  /** The URL without user and password, for messages (status, events and logs never carry secrets). */
  readonly displayUrl: string;
  /** Basic credentials of the URL, sent as a header (fetch refuses URLs that carry them, naming the URL). */
  private readonly authorization: string | undefined;

  constructor(
    url: string,
    private readonly timeoutMs = 10_000,
  ) {
    const parsed = new URL(url);
    this.authorization = parsed.username ? `Basic ${Buffer.from(`${decodeURIComponent(parsed.username)}:${decodeURIComponent(parsed.password)}`).toString('base64')}` : undefined;
    parsed.username = '';
    parsed.password = '';
    this.displayUrl = parsed.toString();
  }

  async query(expr: string, timeSeconds?: number): Promise<Sample[]> {
    const params = new URLSearchParams({ query: expr });
    if (timeSeconds !== undefined) params.set('time', String(timeSeconds));
    const response = await fetch(`${this.displayUrl.replace(/\/$/, '')}/api/v1/query`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...(this.authorization ? { authorization: this.authorization } : {}) },
      body: params.toString(),
      signal: AbortSignal.timeout(this.timeoutMs),
    });
    const answer = (await response.json().catch(() => ({ status: 'error', error: `HTTP ${response.status}` }))) as QueryAnswer;
    if (answer.status !== 'success' || !answer.data) throw new Error(`Prometheus query failed (${answer.error ?? `HTTP ${response.status}`}): ${expr}`);
    if (answer.data.resultType !== 'vector') throw new Error(`Prometheus answered a ${answer.data.resultType}, not a vector: ${expr}`);
    return answer.data.result.map((r) => ({ labels: r.metric, value: Number(r.value[1]) }));
  }
}
