/**
 * cityhub's error hierarchy. Every error says whether retrying can help and carries its context as fields,
 * so logs and the CLI can show them without parsing messages.
 */
export class CityhubError extends Error {
  readonly retriable: boolean;
  constructor(message: string, options: { cause?: unknown; retriable?: boolean } = {}) {
    super(message, { cause: options.cause });
    this.name = new.target.name;
    this.retriable = options.retriable ?? false;
  }
}

export interface ConfigIssue {
  /** Key path in the config file, e.g. `connectors[0].options.seed`. */
  path: string;
  /** The offending value (secrets are never echoed: interpolated values are shown as their `${VAR}` reference). */
  value?: unknown;
  expected: string;
}

export class ConfigError extends CityhubError {
  readonly file: string | undefined;
  readonly issues: ConfigIssue[];
  constructor(file: string | undefined, issues: ConfigIssue[]) {
    const where = file ?? 'built-in demo config';
    const lines = issues.map((i) => {
      const value = i.value === undefined ? '' : ` (got ${JSON.stringify(i.value)})`;
      return `  - ${i.path || '(root)'}: ${i.expected}${value}`;
    });
    super(`invalid config in ${where}:\n${lines.join('\n')}`);
    this.file = file;
    this.issues = issues;
  }
}

export class UsageError extends CityhubError {}

export class NotAvailableError extends CityhubError {}
