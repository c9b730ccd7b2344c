// Cron expressions, read by croner (zero dependencies, time zones, DST): a
// schedule's fields are read in its own IANA time zone, never the machine's.
// Only times are computed here; no croner timer runs, the scheduler wakes on
// the hub's injected clock.
import { Cron } from 'croner';

/** Five fields (minute hour day-of-month month day-of-week) or a nickname such as @daily. */
const FIELDS = /^\s*(@\w+|\S+\s+\S+\s+\S+\s+\S+\s+\S+)\s*$/;

/** Why a time zone is unknown, or undefined when Intl knows it. */
export function timeZoneProblem(timeZone: string): string | undefined {
  try {
    new Intl.DateTimeFormat('en', { timeZone });
    return undefined;
  } catch {
    return `unknown time zone "${timeZone}": give an IANA name such as "UTC" or "Europe/Paris"`;
  }
}

/** Why a cron expression is refused, or undefined when it is good. */
export function cronProblem(cron: string): string | undefined {
  if (!FIELDS.test(cron)) return `"${cron}" is not five cron fields (minute hour day-of-month month day-of-week) or a nickname like @daily`;
  try {
    new Cron(cron.trim(), { timezone: 'UTC' });
    return undefined;
  } catch (error) {
    return `"${cron}" is not a cron expression: ${(error as Error).message}`;
  }
}

/** The first occurrence strictly after `after` (epoch ms), or undefined when there is none. */
export function nextOccurrence(cron: string, timeZone: string, after: number): number | undefined {
  const next = new Cron(cron.trim(), { timezone: timeZone }).nextRun(new Date(after));
  return next ? next.getTime() : undefined;
}

/**
 * The latest occurrence in (after, now], or undefined when none is due. A hub
 * that was down over several occurrences runs the latest one only.
 */
export function dueOccurrence(cron: string, timeZone: string, after: number, now: number): number | undefined {
  const job = new Cron(cron.trim(), { timezone: timeZone });
  let due: number | undefined;
  let at = after;
  // Bounded: a minutely schedule over a week of downtime is 10,080 steps.
  for (let i = 0; i < 100_000; i++) {
    const next = job.nextRun(new Date(at))?.getTime();
    if (next === undefined || next > now) break;
    due = next;
    at = next;
  }
  return due;
}
