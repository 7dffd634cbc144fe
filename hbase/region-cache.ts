import { compareBytes } from './bytes.js';
import { regionContains, type RegionLocation } from './meta.js';

/**
 * Known region locations per table, sorted by start key. Adding a region evicts every cached region
 * whose key range overlaps it, so after a split the daughters replace the parent and after a merge
 * the merged region replaces its parents. Pure data structure.
 */
export class RegionCache {
  private readonly tables = new Map<string, RegionLocation[]>();

  find(table: string, row: Uint8Array): RegionLocation | undefined {
    const regions = this.tables.get(table);
    if (!regions) return undefined;
    // Binary search: the last region whose start key <= row.
    let low = 0;
    let high = regions.length - 1;
    let found = -1;
    while (low <= high) {
      const mid = (low + high) >> 1;
      if (compareBytes(regions[mid]!.startKey, row) <= 0) {
        found = mid;
        low = mid + 1;
      } else {
        high = mid - 1;
      }
    }
    const region = found >= 0 ? regions[found] : undefined;
    return region && regionContains(region, row) ? region : undefined;
  }

  findLast(table: string): RegionLocation | undefined {
    const regions = this.tables.get(table);
    const last = regions?.[regions.length - 1];
    return last && last.endKey.length === 0 ? last : undefined;
  }

  add(region: RegionLocation): void {
    const regions = (this.tables.get(region.table) ?? []).filter((cached) => !overlaps(cached, region));
    regions.push(region);
    regions.sort((a, b) => compareBytes(a.startKey, b.startKey));
    this.tables.set(region.table, regions);
  }

  /** Drops a region (by name) after the server said it no longer serves it there. */
  remove(region: RegionLocation): void {
    const regions = this.tables.get(region.table);
    if (!regions) return;
    const kept = regions.filter((cached) => !cached.name.equals(region.name));
    if (kept.length) this.tables.set(region.table, kept);
    else this.tables.delete(region.table);
  }

  /** Drops every region of a table, or every region on one server. */
  clear(filter: { table?: string; server?: string } = {}): void {
    if (filter.table !== undefined) this.tables.delete(filter.table);
    if (filter.server !== undefined) {
      for (const [table, regions] of this.tables) {
        const kept = regions.filter((region) => !region.server || `${region.server.host}:${region.server.port}` !== filter.server);
        if (kept.length) this.tables.set(table, kept);
        else this.tables.delete(table);
      }
    }
    if (filter.table === undefined && filter.server === undefined) this.tables.clear();
  }

  size(table: string): number {
    return this.tables.get(table)?.length ?? 0;
  }
}

function overlaps(a: RegionLocation, b: RegionLocation): boolean {
  const aEndsBeforeB = a.endKey.length > 0 && compareBytes(a.endKey, b.startKey) <= 0;
  const bEndsBeforeA = b.endKey.length > 0 && compareBytes(b.endKey, a.startKey) <= 0;
  return !aEndsBeforeB && !bEndsBeforeA;
}
