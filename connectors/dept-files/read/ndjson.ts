import { elementRow, tooLarge } from './json-element.js';
import { fileProblem } from './problems.js';
import { type EmitRow, overLimit, type TextRowParser } from './text-rows.js';

/** One JSON object per line; blank lines skipped; a line over the limit is skipped without being held. */
export class NdjsonRows implements TextRowParser {
  readonly columns = undefined;
  rows = 0;
  private partial = '';
  private partialLength = 0;
  private discarding = false;
  private line = 1;

  constructor(
    private readonly file: string,
    private readonly maxRowBytes: number,
  ) {}

  push(text: string, emit: EmitRow): void {
    let from = 0;
    for (let at = text.indexOf('\n'); at !== -1; at = text.indexOf('\n', from)) {
      this.take(text, from, at);
      this.endLine(emit);
      from = at + 1;
    }
    this.take(text, from, text.length);
  }

  end(emit: EmitRow): void {
    if (this.partialLength > 0) this.endLine(emit);
    if (this.rows === 0) throw fileProblem('no_rows', this.file, 'no json line in the file');
  }

  private take(text: string, from: number, to: number): void {
    if (to <= from) return;
    this.partialLength += to - from;
    if (this.discarding) return;
    if (this.partialLength > this.maxRowBytes) {
      this.discarding = true;
      this.partial = '';
    } else this.partial += text.slice(from, to);
  }

  private endLine(emit: EmitRow): void {
    const line = this.line++;
    const length = this.partialLength;
    const discarded = this.discarding;
    let text = this.partial;
    this.partial = '';
    this.partialLength = 0;
    this.discarding = false;
    if (discarded) {
      this.rows++;
      emit(tooLarge(line, length, this.maxRowBytes));
      return;
    }
    if (text.charCodeAt(text.length - 1) === 0x0d) text = text.slice(0, -1);
    if (text.trim() === '') return;
    this.rows++;
    const over = overLimit(text.length, this.maxRowBytes, () => Buffer.byteLength(text));
    emit(over === undefined ? elementRow(line, text) : tooLarge(line, over, this.maxRowBytes));
  }
}
