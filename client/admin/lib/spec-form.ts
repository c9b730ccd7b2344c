// The new-crawl form: the common case of a spec (start URLs, one item rule,
// one follow rule, limits, politeness) as plain text inputs, and the way back
// and forth between the form and a full spec. The form edits only the keys it
// shows; everything else in the spec (more rules, processors, URL patterns...)
// is carried through untouched, so switching to the JSON editor and back loses
// nothing. Schema issues are mapped to the input they are about.
import { parseJsonPath, type PathSegment } from './json-path.ts';
import type { SpecIssue } from '../../../shared/spec/schema.ts';

export type FollowMode = 'none' | 'selector' | 'all';
export type ScopeChoice = 'sameHost' | 'sameDomain' | 'any' | 'custom';

export interface FieldRow {
  /** Stable key for the list in the page; not part of the spec. */
  id: number;
  name: string;
  selector: string;
  /** Every match (a list) rather than the first. */
  all: boolean;
}

export interface SpecForm {
  name: string;
  /** One URL per line. */
  startUrls: string;
  itemSelector: string;
  fields: FieldRow[];
  followMode: FollowMode;
  followSelector: string;
  scope: ScopeChoice;
  maxPages: string;
  maxDepth: string;
  maxDurationMinutes: string;
  obeyRobotsTxt: boolean;
  perHostConcurrency: string;
  perHostDelayMs: string;
  userAgent: string;
}

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string => (typeof v === 'string' ? v : v === undefined || v === null ? '' : String(v));
const numText = (v: unknown): string => (v === undefined || v === null ? '' : String(v));

let nextRowId = 1;
export function fieldRow(name = '', selector = '', all = false): FieldRow {
  return { id: nextRowId++, name, selector, all };
}

export function emptyForm(): SpecForm {
  return {
    name: '',
    startUrls: '',
    itemSelector: '',
    fields: [fieldRow()],
    followMode: 'none',
    followSelector: '',
    scope: 'sameHost',
    maxPages: '',
    maxDepth: '',
    maxDurationMinutes: '',
    obeyRobotsTxt: true,
    perHostConcurrency: '',
    perHostDelayMs: '',
    userAgent: '',
  };
}

/** Reads what the form can show from a spec as written (defaults not filled in). */
export function formFromSpec(spec: unknown): SpecForm {
  const s = isObj(spec) ? spec : {};
  const item = Array.isArray(s.items) && isObj(s.items[0]) ? s.items[0] : undefined;
  const follow = Array.isArray(s.follow) && isObj(s.follow[0]) ? s.follow[0] : undefined;
  const limits = isObj(s.limits) ? s.limits : {};
  const politeness = isObj(s.politeness) ? s.politeness : {};
  const fields: FieldRow[] = [];
  if (item && isObj(item.fields)) {
    for (const [name, value] of Object.entries(item.fields)) {
      fields.push(fieldRow(name, isObj(value) ? str(value.selector) : str(value), isObj(value) && value.all === true));
    }
  }
  if (fields.length === 0) fields.push(fieldRow());
  const scope = follow?.scope;
  const duration = limits.maxDurationMs;
  return {
    name: str(s.name),
    startUrls: Array.isArray(s.startUrls) ? s.startUrls.map(str).join('\n') : str(s.startUrls),
    itemSelector: item ? str(item.selector) : '',
    fields,
    followMode: follow === undefined ? 'none' : follow.selector === undefined ? 'all' : 'selector',
    followSelector: follow ? str(follow.selector) : '',
    scope: scope === undefined ? 'sameHost' : scope === 'sameHost' || scope === 'sameDomain' || scope === 'any' ? scope : 'custom',
    maxPages: numText(limits.maxPages),
    maxDepth: numText(limits.maxDepth),
    maxDurationMinutes: typeof duration === 'number' ? String(Math.round((duration / 60_000) * 1000) / 1000) : numText(duration),
    obeyRobotsTxt: politeness.obeyRobotsTxt !== false,
    perHostConcurrency: numText(politeness.perHostConcurrency),
    perHostDelayMs: numText(politeness.perHostDelayMs),
    userAgent: str(politeness.userAgent),
  };
}

/** A number typed in the form: absent when blank, the text itself when not a number (so the schema says why). */
function numberInput(text: string): unknown {
  const trimmed = text.trim();
  if (trimmed === '') return undefined;
  const n = Number(trimmed);
  return Number.isFinite(n) ? n : trimmed;
}

function setOrDelete(target: Obj, key: string, value: unknown): void {
  if (value === undefined) delete target[key];
  else target[key] = value;
}

/** The spec the form describes: `base` (the spec as it was) with the form's keys written over it. */
export function specFromForm(base: unknown, form: SpecForm): Obj {
  const spec: Obj = isObj(base) ? structuredClone(base) : {};
  spec.name = form.name.trim();
  spec.startUrls = form.startUrls.split('\n').map((line) => line.trim()).filter((line) => line !== '');

  const items = Array.isArray(spec.items) ? [...spec.items] : [];
  const oldItem = isObj(items[0]) ? items[0] : {};
  const rows = form.fields.filter((row) => row.name.trim() !== '' || row.selector.trim() !== '');
  if (form.itemSelector.trim() === '' && rows.length === 0) {
    items.splice(0, 1);
  } else {
    const oldFields = isObj(oldItem.fields) ? oldItem.fields : {};
    const fields: Obj = {};
    for (const row of rows) {
      const name = row.name.trim();
      const old = oldFields[name];
      const selector = row.selector.trim();
      // A field written with options keeps them; the form owns its selector and "all".
      if (isObj(old)) {
        const field: Obj = { ...old, selector };
        setOrDelete(field, 'all', row.all ? true : undefined);
        fields[name] = Object.keys(field).length === 1 ? selector : field;
      } else fields[name] = row.all ? { selector, all: true } : selector;
    }
    items[0] = { ...oldItem, selector: form.itemSelector.trim(), fields };
  }
  setOrDelete(spec, 'items', items.length > 0 ? items : undefined);

  const follow = Array.isArray(spec.follow) ? [...spec.follow] : [];
  if (form.followMode === 'none') follow.splice(0, 1);
  else {
    const rule: Obj = isObj(follow[0]) ? { ...follow[0] } : {};
    setOrDelete(rule, 'selector', form.followMode === 'selector' ? form.followSelector.trim() : undefined);
    if (form.scope !== 'custom') setOrDelete(rule, 'scope', form.scope === 'sameHost' ? undefined : form.scope);
    follow[0] = rule;
  }
  setOrDelete(spec, 'follow', follow.length > 0 ? follow : undefined);

  const limits: Obj = isObj(spec.limits) ? { ...spec.limits } : {};
  setOrDelete(limits, 'maxPages', numberInput(form.maxPages));
  setOrDelete(limits, 'maxDepth', numberInput(form.maxDepth));
  const minutes = numberInput(form.maxDurationMinutes);
  setOrDelete(limits, 'maxDurationMs', typeof minutes === 'number' ? Math.round(minutes * 60_000) : minutes);
  setOrDelete(spec, 'limits', Object.keys(limits).length > 0 ? limits : undefined);

  const politeness: Obj = isObj(spec.politeness) ? { ...spec.politeness } : {};
  setOrDelete(politeness, 'obeyRobotsTxt', form.obeyRobotsTxt ? undefined : false);
  setOrDelete(politeness, 'perHostConcurrency', numberInput(form.perHostConcurrency));
  setOrDelete(politeness, 'perHostDelayMs', numberInput(form.perHostDelayMs));
  setOrDelete(politeness, 'userAgent', form.userAgent.trim() === '' ? undefined : form.userAgent.trim());
  setOrDelete(spec, 'politeness', Object.keys(politeness).length > 0 ? politeness : undefined);
  return spec;
}

/** Parts of a spec the form does not show (they are kept as they are). */
export function hiddenSettings(spec: unknown): string[] {
  if (!isObj(spec)) return [];
  const out: string[] = [];
  const known = new Set(['name', 'version', 'startUrls', 'items', 'follow', 'limits', 'politeness']);
  for (const key of Object.keys(spec)) if (!known.has(key)) out.push(`"${key}"`);
  if (spec.version !== undefined) out.push('version');
  const items = Array.isArray(spec.items) ? spec.items : [];
  if (items.length > 1) out.push(`${items.length - 1} more item rule(s)`);
  const item = isObj(items[0]) ? items[0] : undefined;
  if (item) {
    if (item.type !== undefined) out.push('item type');
    if (Array.isArray(item.urlPatterns) && item.urlPatterns.length > 0) out.push('item URL patterns');
    if (isObj(item.fields) && Object.values(item.fields).some((f) => isObj(f) && Object.keys(f).some((k) => k !== 'selector' && k !== 'all'))) {
      out.push('field options (default, process)');
    }
  }
  const follow = Array.isArray(spec.follow) ? spec.follow : [];
  if (follow.length > 1) out.push(`${follow.length - 1} more follow rule(s)`);
  const rule = isObj(follow[0]) ? follow[0] : undefined;
  if (rule) {
    if (['urlPatterns', 'allow', 'deny'].some((k) => Array.isArray(rule[k]) && (rule[k] as unknown[]).length > 0)) out.push('follow patterns');
    if (rule.maxDepth !== undefined) out.push('follow maxDepth');
    if (rule.scope !== undefined && typeof rule.scope !== 'string') out.push('a custom scope (domains)');
  }
  return out;
}

/** The form inputs an issue can be shown at. */
export type FormTarget =
  | 'name'
  | 'startUrls'
  | 'itemSelector'
  | 'fields'
  | `fieldName:${number}`
  | `fieldSelector:${number}`
  | 'followSelector'
  | 'scope'
  | 'maxPages'
  | 'maxDepth'
  | 'maxDurationMinutes'
  | 'obeyRobotsTxt'
  | 'perHostConcurrency'
  | 'perHostDelayMs'
  | 'userAgent';

const FIELD_NAME = /^[A-Za-z_][A-Za-z0-9_-]*$/;
const RESERVED = new Set(['__proto__', 'constructor', 'prototype']);

function isValidFieldName(name: string): boolean {
  return name.length >= 1 && name.length <= 64 && FIELD_NAME.test(name) && !RESERVED.has(name);
}

const SIMPLE_TARGETS: Record<string, FormTarget> = {
  'name': 'name',
  'limits.maxPages': 'maxPages',
  'limits.maxDepth': 'maxDepth',
  'limits.maxDurationMs': 'maxDurationMinutes',
  'politeness.obeyRobotsTxt': 'obeyRobotsTxt',
  'politeness.perHostConcurrency': 'perHostConcurrency',
  'politeness.perHostDelayMs': 'perHostDelayMs',
  'politeness.userAgent': 'userAgent',
  'items.0.selector': 'itemSelector',
  'items.0.fields': 'fields',
  'follow.0.selector': 'followSelector',
  'follow.0.scope': 'scope',
};

/** Where an issue goes on the form; null when the form does not show that part of the spec. */
export function formTarget(path: readonly PathSegment[], form: SpecForm): FormTarget | null {
  if (path[0] === 'startUrls') return 'startUrls';
  if (path[0] === 'items' && path[1] === 0 && path[2] === 'fields' && typeof path[3] === 'string') {
    const name = path[3];
    const index = form.fields.findIndex((row) => row.name.trim() === name);
    if (index < 0) return 'fields';
    // The schema reports a bad field name and a bad selector at the same path: the name's validity tells which.
    if (path.length === 4 && !isValidFieldName(name)) return `fieldName:${index}`;
    if (path.length === 4 || path[4] === 'selector') return `fieldSelector:${index}`;
    return null;
  }
  const key = path.join('.');
  if (key === 'items.0' || key === 'items') return 'itemSelector';
  if (key === 'follow.0' || key === 'follow') return 'followSelector';
  return SIMPLE_TARGETS[key] ?? null;
}

/** A message as the form shows it: about the unit the form uses. */
function formMessage(target: FormTarget, issue: SpecIssue, path: readonly PathSegment[], form: SpecForm): string {
  if (target === 'maxDurationMinutes' && /expected number to be/.test(issue.message)) return 'from 1 second (0.017) to 30 days (43200) in minutes';
  if (target === 'startUrls' && typeof path[1] === 'number') {
    // The spec's list skips blank lines; count them back in.
    const lines = form.startUrls.split('\n');
    let seen = -1;
    for (let i = 0; i < lines.length; i++) {
      if (lines[i]!.trim() !== '' && ++seen === path[1]) return `line ${i + 1}: ${issue.message}`;
    }
  }
  return issue.message;
}

export interface FormIssues {
  /** Messages by form input. */
  at: Partial<Record<FormTarget, string[]>>;
  /** Issues about parts of the spec the form does not show. */
  elsewhere: SpecIssue[];
}

export function issuesForForm(issues: readonly SpecIssue[], form: SpecForm): FormIssues {
  const at: FormIssues['at'] = {};
  const elsewhere: SpecIssue[] = [];
  for (const issue of issues) {
    const path = parseJsonPath(issue.path);
    const target = path ? formTarget(path, form) : null;
    if (!path || !target) {
      elsewhere.push(issue);
      continue;
    }
    (at[target] ??= []).push(formMessage(target, issue, path, form));
  }
  return { at, elsewhere };
}
