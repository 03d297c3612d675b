/**
 * The main-thread facade's start-up. Its first sessionStorage read waits on synchronous calls to the browser process
 * (20-35 ms while a page loads, traced in bench:browser), and creating the worker was a quarter of the demo module's
 * evaluation: neither may happen inside the host page's first script.
 */
import { afterEach, expect, it, vi } from 'vitest';
import { createPersonalizer } from '../src/client.ts';

/** A worker that records what the page posts to it and never answers. */
class SilentWorker extends EventTarget {
  static posted: unknown[] = [];
  static created = 0;
  constructor() {
    super();
    SilentWorker.created++;
  }
  postMessage(message: unknown): void {
    SilentWorker.posted.push(message);
  }
  terminate(): void {}
}

afterEach(() => {
  vi.unstubAllGlobals();
  SilentWorker.posted = [];
  SilentWorker.created = 0;
});

it('creates the worker, reads the tab session and sends the worker its options in a later task, not in the host page’s script', async () => {
  const getItem = vi.fn((): string | null => 'session-1');
  vi.stubGlobal('sessionStorage', { getItem, setItem: vi.fn() });
  vi.stubGlobal('Worker', SilentWorker);
  vi.stubGlobal('document', { visibilityState: 'hidden', addEventListener: vi.fn(), removeEventListener: vi.fn() });
  vi.stubGlobal('addEventListener', vi.fn());
  vi.stubGlobal('location', new URL('https://player.example/'));

  createPersonalizer({ writeKey: 'k' });
  expect(SilentWorker.created).toBe(0);
  expect(getItem).not.toHaveBeenCalled();
  expect(SilentWorker.posted).toEqual([]);

  await new Promise((resolve) => setTimeout(resolve, 0));
  await Promise.resolve();
  expect(SilentWorker.created).toBe(1);
  expect(getItem).toHaveBeenCalledTimes(1);
  expect(SilentWorker.posted).toEqual([
    expect.objectContaining({ type: 'APPLY', path: ['init'], argumentList: [expect.objectContaining({ value: expect.objectContaining({ sessionId: 'session-1', writeKey: 'k' }) })] }),
  ]);
});
