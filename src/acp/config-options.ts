// Finding the agent's knob for a setting (model, effort, mode) among its session config options, and the
// value a caller meant by a loosely spelled name.
import type { SessionConfigOption } from './protocol';

export type Setting = 'model' | 'effort' | 'mode';

const CATEGORY: Record<Setting, string> = { model: 'model', effort: 'thought_level', mode: 'mode' };
/** Agents that give no category still name the option recognisably. */
const ID_PATTERN: Record<Setting, RegExp> = {
  model: /^model$/i,
  effort: /effort|reasoning|thought|thinking/i,
  mode: /^mode$/i,
};

export function findConfigOption(options: readonly SessionConfigOption[] | null | undefined, setting: Setting): SessionConfigOption | undefined {
  const list = options ?? [];
  return list.find((o) => o.category === CATEGORY[setting]) ?? list.find((o) => ID_PATTERN[setting].test(o.id));
}

/** The values an option accepts, flattening groups. */
export function optionValues(option: SessionConfigOption): { value: string; name: string }[] {
  if (option.type === 'boolean')
    return [
      { value: 'true', name: 'true' },
      { value: 'false', name: 'false' },
    ];
  const out: { value: string; name: string }[] = [];
  for (const entry of option.options ?? []) {
    if ('group' in entry) for (const o of entry.options) out.push({ value: o.value, name: o.name });
    else out.push({ value: entry.value, name: entry.name });
  }
  return out;
}

/** The value id (or boolean) meant by `wanted`: its id exactly, else its id or name ignoring case. */
export function matchValue(option: SessionConfigOption, wanted: string): string | boolean | undefined {
  if (option.type === 'boolean') {
    const w = wanted.trim().toLowerCase();
    if (['true', 'on', 'yes', '1'].includes(w)) return true;
    if (['false', 'off', 'no', '0'].includes(w)) return false;
    return undefined;
  }
  return pick(
    optionValues(option),
    wanted,
    (v) => v.value,
    (v) => v.name,
  )?.value;
}

/** The item whose id is `wanted`, else whose id or name equals it ignoring case. */
export function pick<T>(items: readonly T[], wanted: string, id: (t: T) => string, name: (t: T) => string | undefined): T | undefined {
  const w = wanted.trim().toLowerCase();
  return items.find((i) => id(i) === wanted) ?? items.find((i) => id(i).toLowerCase() === w || name(i)?.toLowerCase() === w);
}
