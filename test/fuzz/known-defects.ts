// Defects the fuzzers found that other work is fixing now, in files this work does not own. Each entry
// names the defect and matches only its cases, so everything else is still checked. THE LEAD EMPTIES THIS
// LIST once those fixes are merged: a fixed defect must then keep the fuzzers green with the list empty.
import type { HttpCase, HttpResult } from './http-cases';

interface KnownDefect {
  what: string;
  matches(c: HttpCase, r: HttpResult, problem: string): boolean;
}

export const KNOWN_DEFECTS: KnownDefect[] = [];

/** How many problems each known defect excused (the bench prints them). */
export const excused = new Map<string, number>();

export function isKnownDefect(c: HttpCase, r: HttpResult, problem: string): boolean {
  const defect = KNOWN_DEFECTS.find((d) => d.matches(c, r, problem));
  if (defect) excused.set(defect.what, (excused.get(defect.what) ?? 0) + 1);
  return defect !== undefined;
}
