/**
 * Keeps four hubs' output readable in one terminal: a hub prints a progress line every 5 s and its indicators at
 * every marts build (each minute), and once a demo city has landed its history these say the same thing over and
 * over. Shown: a progress line whose counts changed, an indicators report that differs from the hub's previous one;
 * everything else (start, warnings, the summary) as it comes.
 */

/** `[42s] messages sent …`: the hub's progress line; what follows the elapsed time is what it says. */
const progressLine = /^\[\d+s\] (.*)$/;
/** A report of the headline indicators: a title line per month, then one indented line per region. */
const reportTitle = /^indicators\b/;
const reportRow = /^ {2}\S/;

export class QuietRepeats {
  private lastProgress: string | undefined;
  private previousReport: string[] = [];
  /** The report being read, while it is one: its lines so far. */
  private report: string[] | undefined;
  /** Whether the report being read differs from the previous one (its lines are then shown as they come). */
  private reportShown = false;

  constructor(private readonly show: (line: string) => void) {}

  push(line: string): void {
    if (this.report !== undefined) {
      if (reportTitle.test(line) || reportRow.test(line)) {
        this.continueReport(line);
        return;
      }
      this.endReport();
    }
    if (reportTitle.test(line)) {
      this.report = [];
      this.reportShown = false;
      this.continueReport(line);
      return;
    }
    const progress = progressLine.exec(line);
    if (progress !== null) {
      if (progress[1] === this.lastProgress) return;
      this.lastProgress = progress[1];
    }
    this.show(line);
  }

  /** The output ended: a report still being read is shown unless it repeats the previous one. */
  end(): void {
    if (this.report !== undefined) this.endReport();
  }

  private continueReport(line: string): void {
    const report = this.report!;
    report.push(line);
    if (this.reportShown) {
      this.show(line);
      return;
    }
    // Held back while it repeats the previous report line for line; shown from the first line that differs.
    if (this.previousReport[report.length - 1] !== line) {
      this.reportShown = true;
      for (const held of report) this.show(held);
    }
  }

  private endReport(): void {
    const report = this.report!;
    // A report that stopped short of the previous one differs from it too.
    if (!this.reportShown && report.length !== this.previousReport.length) for (const held of report) this.show(held);
    this.previousReport = report;
    this.report = undefined;
  }
}
