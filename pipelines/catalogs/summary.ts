import type { CatalogName } from '../../schemas/index.js';
import type { Catalogs } from './load.js';

/** `a 2, b 1`: how many entries have each value, most common first (ties by value). */
function countBy<T>(entries: readonly T[], key: (entry: T) => string): string {
  const counts = new Map<string, number>();
  for (const entry of entries) counts.set(key(entry), (counts.get(key(entry)) ?? 0) + 1);
  return [...counts]
    .sort(([a, m], [b, n]) => n - m || (a < b ? -1 : a > b ? 1 : 0))
    .map(([value, n]) => `${value} ${n}`)
    .join(', ');
}

/** The few counts that tell whether a catalog is the one meant (`cityhub catalogs check`). */
export function describeCatalogEntries<N extends CatalogName>(name: N, entries: Catalogs[N]): string {
  const count = `${entries.length} ${entries.length === 1 ? 'entry' : 'entries'}`;
  if (entries.length === 0) return count;
  switch (name) {
    case 'regions':
      return `${count}; by level: ${countBy(entries as Catalogs['regions'], (r) => r.level)}`;
    case 'data_resources': {
      const resources = entries as Catalogs['data_resources'];
      const declared = resources.filter((r) => r.fields !== undefined).length;
      return `${count}; by share type: ${countBy(resources, (r) => r.share_type)}; ${declared} declare their fields`;
    }
    case 'scenarios': {
      const scenarios = entries as Catalogs['scenarios'];
      const limited = scenarios.filter((s) => s.regions.length > 0).length;
      return `${count}; by dimension: ${countBy(scenarios, (s) => s.dimension)}; ${limited} limited to listed regions`;
    }
    default:
      return `${count}; by type: ${countBy(entries as Catalogs['devices'], (d) => d.device_type)}`;
  }
}
