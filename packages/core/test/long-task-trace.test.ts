import { describe, expect, it } from 'vitest';
import { longTaskBreakdown } from '../src/long-task-trace.ts';

const PAGE = 10;
const OTHER = 20; // a renderer of the browser's own (another origin)
const main = (pid: number) => ({ name: 'thread_name', ph: 'M', ts: 0, pid, tid: 1, args: { name: 'CrRendererMain' } });
const nav = (pid: number, ts: number, url: string) => ({ name: 'navigationStart', ph: 'R', ts, pid, tid: 1, args: { data: { documentLoaderURL: url } } });
const x = (name: string, ts: number, durMs: number, pid = PAGE, args?: object) => ({ name, ph: 'X', ts, dur: durMs * 1000, pid, tid: 1, args });

describe('longTaskBreakdown', () => {
  const trace = {
    traceEvents: [
      main(PAGE),
      main(OTHER),
      { name: 'thread_name', ph: 'M', ts: 0, pid: PAGE, tid: 2, args: { name: 'DedicatedWorker thread' } },
      nav(PAGE, 1_000_000, 'http://127.0.0.1:4190/?api=x'),
      nav(OTHER, 1_000_000, 'chrome://newtab/'),
      // 80 ms task at 500 ms: layout 50 (of which style 10), a render call 20 (of which a GC 5), 10 untraced.
      x('ThreadControllerImpl::RunTask', 1_500_000, 80),
      x('Layout', 1_500_000, 50),
      x('UpdateLayoutTree', 1_510_000, 10),
      { name: 'FunctionCall', ph: 'B', ts: 1_550_000, pid: PAGE, tid: 1, args: { data: { url: 'http://127.0.0.1:4190/assets/main-abc.js?v=1', functionName: 'render' } } },
      x('MinorGC', 1_560_000, 5),
      { name: 'FunctionCall', ph: 'E', ts: 1_570_000, pid: PAGE, tid: 1 },
      // Under the threshold, on a worker thread, or in another renderer: not the page's long tasks.
      x('ThreadControllerImpl::RunTask', 1_600_000, 30),
      { ...x('ThreadControllerImpl::RunTask', 1_700_000, 200), tid: 2 },
      x('ThreadControllerImpl::RunTask', 1_700_000, 200, OTHER),
      // The test driver's IPC into the page.
      x('RunTask', 2_000_000, 60),
      x('Receive mojo message', 2_000_000, 59, PAGE, { chrome_mojo_event_info: { mojo_interface_tag: 'blink.mojom.DevToolsSession' } }),
      // A navigation's commit: Chromium's document set-up before any page script.
      x('ThreadControllerImpl::RunTask', 3_000_000, 120),
      x('Receive mojo message', 3_000_000, 119, PAGE, { chrome_mojo_event_info: { mojo_interface_tag: 'content.mojom.NavigationClient' } }),
      x('DocumentLoader::CommitNavigation', 3_001_000, 110),
      x('DocumentLoader::StartLoadingResponse', 3_002_000, 100),
      'not an event',
    ],
  };

  it("gives each long task of the page's main thread with its time by self time, largest first", () => {
    expect(longTaskBreakdown(trace, { origin: 'http://127.0.0.1:4190' })).toEqual([
      {
        startMs: 500,
        durationMs: 80,
        top: [
          { what: 'Layout', ms: 40 },
          { what: 'FunctionCall main-abc.js render', ms: 15 },
          { what: 'ThreadControllerImpl::RunTask', ms: 10 },
          { what: 'UpdateLayoutTree', ms: 10 },
          { what: 'MinorGC', ms: 5 },
        ],
        navigationCommit: false,
      },
      { startMs: 1000, durationMs: 60, top: [{ what: 'Receive mojo message blink.mojom.DevToolsSession', ms: 59 }, { what: 'RunTask', ms: 1 }], navigationCommit: false },
      {
        startMs: 2000,
        durationMs: 120,
        top: [
          { what: 'DocumentLoader::StartLoadingResponse', ms: 100 },
          { what: 'DocumentLoader::CommitNavigation', ms: 10 },
          { what: 'Receive mojo message content.mojom.NavigationClient', ms: 9 },
          { what: 'ThreadControllerImpl::RunTask', ms: 1 },
        ],
        navigationCommit: true,
      },
    ]);
  });

  it('counts every renderer without an origin, and honours the threshold', () => {
    expect(longTaskBreakdown(trace).map((t) => t.durationMs)).toEqual([80, 200, 60, 120]);
    expect(longTaskBreakdown(trace, { origin: 'http://127.0.0.1:4190', thresholdMs: 70 }).map((t) => t.durationMs)).toEqual([80, 120]);
  });

  it('refuses what is not a trace', () => {
    expect(() => longTaskBreakdown({ events: [] })).toThrow();
  });
});
