/**
 * The number of stored events, written beside the database after commits: a second witness, outside the
 * write-ahead log, of what was acknowledged. At open, fewer stored events than the mark means acknowledged events
 * were lost (a WAL cut short by a crash or a full disk); the store logs it instead of starting silently.
 *
 * Written after the commit, by an atomic rename, at most one write in flight (later counts coalesce into the next):
 * after a crash the mark can only lag behind what is stored, never run ahead of it, so it never cries wolf.
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import { z } from 'zod';

const HighWaterFile = z.object({ stored: z.number().int().nonnegative() });

export class HighWaterMark {
  private pending: number | null = null;
  private writing: Promise<void> | null = null;

  constructor(private readonly path: string) {}

  /** The mark left by the previous run, or null when there is none (or it cannot be read). */
  async read(): Promise<number | null> {
    try {
      const parsed = HighWaterFile.safeParse(JSON.parse(await readFile(this.path, 'utf8')));
      return parsed.success ? parsed.data.stored : null;
    } catch {
      return null;
    }
  }

  set(stored: number): void {
    this.pending = stored;
    this.writing ??= this.write();
  }

  private async write(): Promise<void> {
    try {
      while (this.pending !== null) {
        const stored = this.pending;
        this.pending = null;
        await writeFile(`${this.path}.tmp`, JSON.stringify({ stored }));
        await rename(`${this.path}.tmp`, this.path);
      }
    } catch (err) {
      console.error(`event store: cannot write ${this.path}: ${(err as Error).message}`);
    } finally {
      this.writing = null;
    }
  }

  async flush(): Promise<void> {
    await this.writing;
  }
}
