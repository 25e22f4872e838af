import { type CompiledTimeFormat, compileTimeFormat } from '../../pipelines/mapping/time-format.js';
import type { DeptFilesConnectorConfig } from './config.js';

/** The last segment of a delivery's name (a relative path or an S3 key below the prefix). */
export function baseName(name: string): string {
  const slash = name.lastIndexOf('/');
  return slash < 0 ? name : name.slice(slash + 1);
}

/**
 * What a file's name (and, failing that, its timestamp) says about its delivery: the resource code (for the
 * `file_name`, `folder` and `fixed` rules; `column` is read from the file) and the delivery time.
 */
export class DeliveryNaming {
  private readonly include: RegExp | undefined;
  private readonly resourcePattern: RegExp | undefined;
  private readonly timePattern: RegExp | undefined;
  private readonly timeFormat: CompiledTimeFormat | undefined;

  constructor(private readonly config: DeptFilesConnectorConfig) {
    this.include = config.include === undefined ? undefined : new RegExp(config.include, 'u');
    this.resourcePattern = config.resource.from === 'file_name' ? new RegExp(config.resource.pattern, 'u') : undefined;
    if (config.delivered_at) {
      this.timePattern = new RegExp(config.delivered_at.pattern, 'u');
      this.timeFormat = compileTimeFormat(config.delivered_at.format, config.delivered_at.time_zone);
    }
  }

  /** Whether a file of this name is a delivery at all (`include`). */
  includes(name: string): boolean {
    return this.include === undefined || this.include.test(baseName(name));
  }

  /**
   * The resource code the name gives; undefined when the rule is `column` (read from the file) or the name does
   * not match (then the file is `unknown_resource`). `relative` is the name below the folder or prefix.
   */
  resourceOf(relative: string): string | undefined {
    const rule = this.config.resource;
    switch (rule.from) {
      case 'fixed':
        return rule.resource_code;
      case 'folder': {
        const slash = relative.indexOf('/');
        return slash > 0 ? relative.slice(0, slash) : undefined;
      }
      case 'file_name':
        return this.resourcePattern!.exec(baseName(relative))?.groups?.resource || undefined;
      case 'column':
        return undefined;
    }
  }

  /**
   * Delivery time, UTC ISO text. Precedence: the time in the name (`delivered_at`), then the file's mtime or the
   * object's LastModified. A name that does not match, or whose time does not exist, falls back to the stamp.
   */
  deliveredAt(name: string, stampMs: number): { at: string; fromName: boolean } {
    if (this.timePattern && this.timeFormat) {
      const text = this.timePattern.exec(baseName(name))?.groups?.time;
      if (text !== undefined) {
        const parsed = this.timeFormat.parse(text);
        if (typeof parsed === 'string') return { at: parsed, fromName: true };
      }
    }
    return { at: new Date(stampMs).toISOString(), fromName: false };
  }
}
