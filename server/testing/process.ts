/**
 * Runs the API as a child process, as `npm run server` would: used by `npm start`, the benchmarks and the
 * end-to-end tests, which need a real port, a real data directory, and a process they can kill.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface ServerProcess {
  url: string;
  port: number;
  child: ChildProcess;
  /** SIGTERM and wait: the store closes cleanly. */
  stop(): Promise<void>;
  /** SIGKILL and wait: a crash, nothing flushed on the way out. */
  kill(): Promise<void>;
  /** Peak resident set size in MB (Linux /proc), or undefined elsewhere. */
  peakRssMb(): number | undefined;
  /** Resident set size now in MB (Linux /proc), or undefined elsewhere. */
  rssMb(): number | undefined;
  /**
   * CPU time the process has used so far, user and system, all threads (DuckDB's too), in seconds (Linux /proc),
   * or undefined elsewhere. Unlike wall-clock rates it does not grow when other work shares the machine.
   */
  cpuSeconds(): number | undefined;
  /** Everything the process wrote to stdout and stderr so far. */
  output(): string;
}

const SERVE = fileURLToPath(new URL('../src/serve.ts', import.meta.url));
// tsx resolves from the working directory: run from the repository root, wherever the caller stands.
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export async function startServerProcess(
  env: Record<string, string>,
  opts: { timeoutMs?: number; inheritOutput?: boolean } = {},
): Promise<ServerProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', SERVE], {
    env: { ...process.env, PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    cwd: ROOT,
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let output = '';
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start in time:\n${output}`)), opts.timeoutMs ?? 30_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (opts.inheritOutput) process.stdout.write(chunk);
      const m = output.match(/listening on http:\/\/[^:]+:(\d+)/);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (c: Buffer) => {
      output += c.toString();
      if (opts.inheritOutput) process.stderr.write(c);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code} before listening:\n${output}`));
    });
  });
  const host = env.HOST ?? '127.0.0.1';
  const end = async (signal: NodeJS.Signals) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    await exited;
  };
  return {
    url: `http://${host}:${port}`,
    port,
    child,
    stop: () => end('SIGTERM'),
    kill: () => end('SIGKILL'),
    peakRssMb: () => procStatusMb(child.pid, 'VmHWM'),
    rssMb: () => procStatusMb(child.pid, 'VmRSS'),
    cpuSeconds: () => procCpuSeconds(child.pid),
    output: () => output,
  };
}

function procStatusMb(pid: number | undefined, field: 'VmHWM' | 'VmRSS'): number | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = Number(status.match(new RegExp(`${field}:\\s+(\\d+)`))?.[1]);
    return Number.isFinite(kb) ? kb / 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** utime + stime from /proc/PID/stat (fields 14 and 15, after the parenthesised name), in clock ticks of 1/100 s. */
function procCpuSeconds(pid: number | undefined): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    return Number.isFinite(ticks) ? ticks / 100 : undefined;
  } catch {
    return undefined;
  }
}
