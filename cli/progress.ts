import { bytes, count } from './format.js';

/**
 * A progress bar on stderr: redrawn in place on a terminal, one line every few seconds otherwise
 * (logs stay readable). Several sources add up to one bar.
 */
export class ProgressBar {
  private readonly parts = new Map<string, { messages: number; bytes: number }>();
  private readonly started = Date.now();
  private lastLine = 0;
  private drawn = false;

  constructor(
    private readonly out: NodeJS.WritableStream & { isTTY?: boolean },
    private readonly total: number | undefined,
    private readonly enabled = true,
  ) {}

  update(part: string, messages: number, sentBytes: number): void {
    this.parts.set(part, { messages, bytes: sentBytes });
    if (!this.enabled) return;
    const now = Date.now();
    if (this.out.isTTY) {
      this.out.write(`\r${this.line()}\x1b[K`);
      this.drawn = true;
    } else if (now - this.lastLine >= 5000) {
      this.lastLine = now;
      this.out.write(`${this.line()}\n`);
    }
  }

  finish(): void {
    if (!this.enabled) return;
    this.out.write(this.drawn ? `\r${this.line()}\x1b[K\n` : `${this.line()}\n`);
  }

  line(): string {
    let messages = 0;
    let sent = 0;
    for (const p of this.parts.values()) {
      messages += p.messages;
      sent += p.bytes;
    }
    const seconds = Math.max(0.001, (Date.now() - this.started) / 1000);
    const rate = `${count(messages / seconds)} msg/s  ${bytes(sent / seconds)}/s  ${seconds.toFixed(1)} s`;
    if (!this.total) return `${count(messages)} msgs  ${rate}`;
    const share = Math.min(1, messages / this.total);
    const width = 24;
    const filled = Math.round(share * width);
    return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${(share * 100).toFixed(0).padStart(3)}%  ${count(messages)}/${count(this.total)} msgs  ${rate}`;
  }
}
