/**
 * RFC 4180 records from text chunks, with what the readers need and csv-parse does not give together: the
 * physical line each record starts on (a quoted field may span lines), the line an unclosed quote opened on, and
 * a size limit that skips an oversized record without holding it (an unclosed quote near the start of a 100 MB
 * file must not become a 100 MB field).
 *
 * Grammar: records end at LF, CRLF or CR outside quotes; a field starting with `"` (after blanks) is quoted and
 * `""` inside it is one quote; a quote inside an unquoted field, or text after a closing quote, is kept as text.
 */
const QUOTE = 0x22;
const LF = 0x0a;
const CR = 0x0d;
const SPACE = 0x20;
const TAB = 0x09;

enum State {
  FieldStart,
  Unquoted,
  Quoted,
  /** A quote inside a quoted field: either the closing one or the first of `""`. */
  QuoteInQuoted,
}

export interface CsvRecord {
  fields: string[];
  /** 1-based physical line the record starts on. */
  line: number;
  /** Its size in UTF-16 units, delimiters included. */
  length: number;
  /** The record was over the limit: its fields were not kept (and are empty here). */
  oversize: boolean;
}

export class CsvTokenizer {
  private state = State.FieldStart;
  private fields: string[] = [];
  private field = '';
  private line = 1;
  private recordLine = 1;
  private recordLength = 0;
  private discarding = false;
  /** A CR ended the last chunk: an LF opening the next one belongs to it. */
  private pendingCr = false;
  private quoteLine = 0;
  /** A CR inside quotes ended the last chunk: it is a line break of its own unless an LF follows. */
  private quotedCrPending = false;

  /**
   * @param maxRecordLength record size limit in UTF-16 units (a UTF-8 byte count is at least this).
   */
  constructor(
    private readonly delimiter: number,
    private readonly maxRecordLength: number,
  ) {}

  push(text: string, emit: (record: CsvRecord) => void): void {
    const delimiter = this.delimiter;
    let i = 0;
    if (this.pendingCr) {
      this.pendingCr = false;
      if (text.charCodeAt(0) === LF) i = 1;
    } else if (this.quotedCrPending) {
      this.quotedCrPending = false;
      if (text.charCodeAt(0) !== LF) this.line++;
    }
    let segStart = i;
    const n = text.length;
    for (; i < n; i++) {
      const c = text.charCodeAt(i);
      switch (this.state) {
        // biome-ignore lint/suspicious/noFallthroughSwitchClause: a character that starts an unquoted field is handled as one
        case State.FieldStart:
          if (c === QUOTE) {
            this.state = State.Quoted;
            this.quoteLine = this.line;
            segStart = i + 1;
            continue;
          }
          if ((c === SPACE || c === TAB) && c !== delimiter) continue;
          this.state = State.Unquoted;
          segStart = i;
        case State.Unquoted:
          if (c === delimiter) {
            this.endField(text, segStart, i);
            this.state = State.FieldStart;
          } else if (c === LF || c === CR) {
            this.endField(text, segStart, i);
            i = this.endRecord(text, i, emit);
            segStart = i + 1;
          }
          continue;
        case State.Quoted:
          if (c === QUOTE) {
            this.append(text, segStart, i);
            this.state = State.QuoteInQuoted;
          } else if (c === LF) this.line++;
          else if (c === CR) {
            if (i + 1 === n) this.quotedCrPending = true;
            else if (text.charCodeAt(i + 1) !== LF) this.line++;
          }
          continue;
        case State.QuoteInQuoted:
          if (c === QUOTE) {
            // `""`: one literal quote; the segment restarts at this quote.
            segStart = i;
            this.state = State.Quoted;
          } else if (c === delimiter) {
            this.endField(text, i, i);
            this.state = State.FieldStart;
          } else if (c === LF || c === CR) {
            this.endField(text, i, i);
            i = this.endRecord(text, i, emit);
            segStart = i + 1;
          } else {
            segStart = i;
            this.state = State.Unquoted;
          }
          continue;
      }
    }
    if (this.state === State.Unquoted || this.state === State.Quoted) this.append(text, segStart, n);
  }

  /** Ends the input: the last record, or the line of a quote never closed (returned, the record is dropped). */
  end(emit: (record: CsvRecord) => void): { unclosedQuoteLine?: number } {
    if (this.quotedCrPending) this.line++;
    if (this.state === State.Quoted) return { unclosedQuoteLine: this.quoteLine };
    if (this.state !== State.FieldStart || this.fields.length > 0) {
      this.fields.push(this.field);
      this.emitRecord(emit);
    }
    return {};
  }

  private append(text: string, from: number, to: number): void {
    if (to <= from) return;
    this.recordLength += to - from;
    if (this.discarding) return;
    if (this.recordLength > this.maxRecordLength) {
      this.discarding = true;
      this.field = '';
      this.fields.length = 0;
      return;
    }
    this.field += text.slice(from, to);
  }

  private endField(text: string, from: number, to: number): void {
    this.append(text, from, to);
    this.recordLength++; // the delimiter
    if (!this.discarding) this.fields.push(this.field);
    this.field = '';
  }

  /** Emits the record ended by the line break at `i`; returns the index of the break's last character. */
  private endRecord(text: string, i: number, emit: (record: CsvRecord) => void): number {
    this.emitRecord(emit);
    this.line++;
    this.recordLine = this.line;
    this.state = State.FieldStart;
    if (text.charCodeAt(i) === CR) {
      if (i + 1 < text.length) return text.charCodeAt(i + 1) === LF ? i + 1 : i;
      this.pendingCr = true;
    }
    return i;
  }

  private emitRecord(emit: (record: CsvRecord) => void): void {
    emit({
      fields: this.discarding ? [] : this.fields,
      line: this.recordLine,
      length: this.recordLength,
      oversize: this.discarding,
    });
    this.fields = [];
    this.field = '';
    this.recordLength = 0;
    this.discarding = false;
  }
}
