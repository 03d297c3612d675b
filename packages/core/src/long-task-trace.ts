/**
 * What a main-thread long task was made of, read from a Chromium performance trace (the JSON `browser.stopTracing()`
 * gives, categories `devtools.timeline` and `toplevel`): `npm run bench:browser` records one per visit, because the
 * Long Tasks API only says "unknown window" (the page itself) and not which script, layout or parse it was.
 */
import { z } from 'zod';

/** The few fields of Chromium's trace event format the breakdown reads (everything else passes through). */
export const TraceEventSchema = z.object({
  name: z.string(),
  ph: z.string(),
  ts: z.number(),
  dur: z.number().optional(),
  pid: z.number(),
  tid: z.number(),
  args: z.record(z.string(), z.unknown()).optional(),
});
export type TraceEvent = z.infer<typeof TraceEventSchema>;
export const ChromeTraceSchema = z.object({ traceEvents: z.array(z.unknown()) });

export interface LongTaskBreakdown {
  /** ms after the navigation it belongs to (the latest `navigationStart` before it), or null when none was traced. */
  startMs: number | null;
  durationMs: number;
  /** Where the task's time went, by self time (nested events subtracted), largest first, ms. */
  top: { what: string; ms: number }[];
  /**
   * The task commits a navigation (`DocumentLoader::CommitNavigation` inside it): Chromium creating the document,
   * its parser and the preloads, before any of the page's own script has run. Counted like any other long task,
   * but out of the page's control beyond the size of its HTML.
   */
  navigationCommit: boolean;
}

/** The event Chromium's renderer runs to commit a navigation (inside the NavigationClient message). */
const COMMIT_NAVIGATION = 'DocumentLoader::CommitNavigation';

/** A main-thread task, as Chromium names it in the `toplevel` category (the older and the current name). */
const TASK_NAMES = new Set(['RunTask', 'ThreadControllerImpl::RunTask']);

const TaskDataSchema = z.object({ url: z.string().optional(), functionName: z.string().optional(), type: z.string().optional() });

const MojoInfoSchema = z.object({ chrome_mojo_event_info: z.object({ mojo_interface_tag: z.string() }) });

/**
 * An event's name with what makes it recognisable: a script's file and function, an event's type, the interface of
 * an IPC message (e.g. `blink.mojom.DevToolsSession`: the test driver's own work in the page).
 */
function label(e: TraceEvent): string {
  const mojo = MojoInfoSchema.safeParse(e.args);
  if (mojo.success) return `${e.name} ${mojo.data.chrome_mojo_event_info.mojo_interface_tag}`;
  const data = TaskDataSchema.safeParse(e.args?.data ?? e.args?.beginData ?? {});
  if (!data.success) return e.name;
  const file = data.data.url ? data.data.url.replace(/^.*\//, '').replace(/\?.*$/, '') : '';
  const detail = [file, data.data.functionName, data.data.type].filter(Boolean).join(' ');
  return detail ? `${e.name} ${detail}` : e.name;
}

const NavigationDataSchema = z.object({ data: z.object({ documentLoaderURL: z.string() }) });
const navigationUrl = (e: TraceEvent) => NavigationDataSchema.safeParse(e.args).data?.data.documentLoaderURL ?? '';

/** Complete intervals per thread: X events as they are, B/E pairs matched by name on each thread's stack. */
function intervals(events: readonly TraceEvent[]): Map<string, TraceEvent[]> {
  const byThread = new Map<string, TraceEvent[]>();
  const open = new Map<string, TraceEvent[]>();
  const push = (key: string, e: TraceEvent) => {
    const list = byThread.get(key) ?? [];
    list.push(e);
    byThread.set(key, list);
  };
  for (const e of [...events].sort((a, b) => a.ts - b.ts)) {
    const key = `${e.pid}:${e.tid}`;
    if (e.ph === 'X' && e.dur !== undefined) push(key, e);
    else if (e.ph === 'B') open.set(key, [...(open.get(key) ?? []), e]);
    else if (e.ph === 'E') {
      const stack = open.get(key) ?? [];
      const at = stack.findLastIndex((b) => b.name === e.name);
      if (at < 0) continue;
      const [begin] = stack.splice(at, 1);
      if (begin) push(key, { ...begin, ph: 'X', dur: e.ts - begin.ts });
    }
  }
  return byThread;
}

/**
 * The tasks of at least `thresholdMs` on the renderers' main threads, each with where its time went. Self time of
 * the task itself (work no traced event covers) is reported as the task's own name.
 */
export function longTaskBreakdown(trace: unknown, opts: { thresholdMs?: number; topN?: number; origin?: string } = {}): LongTaskBreakdown[] {
  const { thresholdMs = 50, topN = 6, origin } = opts;
  const events = ChromeTraceSchema.parse(trace).traceEvents.flatMap((raw) => {
    const e = TraceEventSchema.safeParse(raw);
    return e.success ? [e.data] : [];
  });
  const mainThreads = new Set(
    events.filter((e) => e.ph === 'M' && e.name === 'thread_name' && z.object({ name: z.string() }).safeParse(e.args).data?.name === 'CrRendererMain').map((e) => `${e.pid}:${e.tid}`),
  );
  // Only the renderers that navigated to `origin` (the browser's own pages run in renderers of their own).
  const navigationEvents = events.filter((e) => e.name === 'navigationStart' && (!origin || navigationUrl(e).startsWith(origin)));
  const pagePids = new Set(navigationEvents.map((e) => e.pid));
  const navigations = navigationEvents.map((e) => e.ts).sort((a, b) => a - b);
  const out: LongTaskBreakdown[] = [];
  for (const [thread, list] of intervals(events)) {
    if (!mainThreads.has(thread) || (origin && !pagePids.has(Number(thread.split(':')[0])))) continue;
    list.sort((a, b) => a.ts - b.ts || b.dur! - a.dur!);
    for (const task of list) {
      if (!TASK_NAMES.has(task.name) || task.dur! < thresholdMs * 1000) continue;
      const end = task.ts + task.dur!;
      const inside = list.filter((e) => e !== task && e.ts >= task.ts && e.ts + e.dur! <= end);
      // Self time: each event's duration less its direct children's (the list is sorted outermost first).
      const self = new Map<TraceEvent, number>([[task, task.dur!]]);
      const stack: TraceEvent[] = [task];
      for (const e of inside) {
        while (stack.length > 1 && e.ts >= stack[stack.length - 1]!.ts + stack[stack.length - 1]!.dur!) stack.pop();
        const parent = stack[stack.length - 1]!;
        self.set(parent, (self.get(parent) ?? 0) - e.dur!);
        self.set(e, e.dur!);
        stack.push(e);
      }
      const byLabel = new Map<string, number>();
      for (const [e, us] of self) byLabel.set(label(e), (byLabel.get(label(e)) ?? 0) + us);
      const nav = navigations.findLast((ts) => ts <= task.ts);
      out.push({
        startMs: nav === undefined ? null : Math.round((task.ts - nav) / 1000),
        durationMs: Math.round(task.dur! / 1000),
        top: [...byLabel]
          .filter(([, us]) => us > 0)
          .sort((a, b) => b[1] - a[1])
          .slice(0, topN)
          .map(([what, us]) => ({ what, ms: Math.round(us / 100) / 10 })),
        navigationCommit: inside.some((e) => e.name === COMMIT_NAVIGATION),
      });
    }
  }
  return out.sort((a, b) => (a.startMs ?? 0) - (b.startMs ?? 0));
}
