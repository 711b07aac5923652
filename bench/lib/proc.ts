/**
 * Per-process figures straight from /proc (Linux): CPU time at this instant (the replicas' own
 * status reports it only every 250 ms) and resident memory, current and peak (VmHWM).
 */
import { readFileSync } from 'node:fs';

/** USER_HZ: the unit of utime/stime in /proc/<pid>/stat; 100 on every Linux this runs on. */
const CLOCK_TICKS_PER_SEC = 100;

export interface ProcSample {
  /** user + system CPU time (ms), at the 10 ms resolution of clock ticks. */
  cpuMs: number;
  rssBytes: number;
  /** Peak resident set size over the process's life. */
  peakRssBytes: number;
}

export function readProc(pid: number | undefined): ProcSample | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may itself contain spaces.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(rest[11]);
    const stime = Number(rest[12]);
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
    return { cpuMs: ((utime + stime) * 1000) / CLOCK_TICKS_PER_SEC, rssBytes: kb('VmRSS'), peakRssBytes: kb('VmHWM') };
  } catch {
    return undefined; // not Linux, or the process is gone
  }
}

/** Machine-wide CPU time so far (seconds summed over cores), from the first line of /proc/stat. */
export interface CpuTotals {
  /** user + nice + system: time any process ran. */
  busyS: number;
  /** Time the hypervisor ran something else while a vCPU wanted to run. */
  stealS: number;
}

export function readCpuTotals(): CpuTotals | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
    const f = line.trim().split(/\s+/).slice(1).map(Number);
    const [user = 0, nice = 0, system = 0, , , , , steal = 0] = f;
    return { busyS: (user + nice + system) / CLOCK_TICKS_PER_SEC, stealS: steal / CLOCK_TICKS_PER_SEC };
  } catch {
    return undefined;
  }
}
