/**
 * A top-level JSON array streamed element by element: a small tokenizer tracks depth and strings only to find
 * where each element ends, and hands the element's text to JSON.parse. The file is never held whole; an element
 * over the limit is skipped without being held.
 */
import { elementRow, tooLarge } from './json-element.js';
import { fileProblem } from './problems.js';
import { type EmitRow, overLimit, type TextRowParser } from './text-rows.js';

const LF = 0x0a;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;

function isJsonSpace(c: number): boolean {
  return c === 0x20 || c === LF || c === 0x0d || c === 0x09;
}

enum State {
  Start,
  BeforeFirst,
  BeforeNext,
  InElement,
  AfterElement,
  Done,
}

enum Kind {
  Container,
  String,
  Literal,
}

export class JsonArrayRows implements TextRowParser {
  readonly columns = undefined;
  rows = 0;
  private state = State.Start;
  private line = 1;
  private kind = Kind.Container;
  private depth = 0;
  private inString = false;
  private escaped = false;
  private element = '';
  private elementLength = 0;
  private elementLine = 0;
  private discarding = false;

  constructor(
    private readonly file: string,
    private readonly maxRowBytes: number,
  ) {}

  push(text: string, emit: EmitRow): void {
    let segStart = 0;
    const n = text.length;
    for (let i = 0; i < n; i++) {
      const c = text.charCodeAt(i);
      if (this.state === State.InElement) {
        if (this.inString) {
          if (this.escaped) this.escaped = false;
          else if (c === BACKSLASH) this.escaped = true;
          else if (c === QUOTE) {
            this.inString = false;
            if (this.kind === Kind.String) this.finish(text, segStart, i + 1, emit);
          } else if (c === LF) this.line++;
          continue;
        }
        if (this.kind === Kind.Literal && (isJsonSpace(c) || c === COMMA || c === CLOSE_BRACKET)) {
          this.finish(text, segStart, i, emit);
          this.between(c);
          continue;
        }
        if (c === QUOTE) this.inString = true;
        else if (c === OPEN_BRACE || c === OPEN_BRACKET) this.depth++;
        else if ((c === CLOSE_BRACE || c === CLOSE_BRACKET) && --this.depth === 0)
          this.finish(text, segStart, i + 1, emit);
        else if (c === LF) this.line++;
        continue;
      }
      if (this.between(c)) {
        segStart = i;
        this.startElement(c);
      }
    }
    if (this.state === State.InElement) this.take(text, segStart, n);
  }

  end(_emit: EmitRow): void {
    if (this.state === State.Done) {
      if (this.rows === 0) throw fileProblem('no_rows', this.file, 'an empty json array');
      return;
    }
    if (this.state === State.Start) throw fileProblem('not_an_array', this.file, 'expected a json array ([ … ])');
    throw fileProblem(
      'truncated',
      this.file,
      `the json array is never closed: the file ends after ${this.rows} elements${
        this.state === State.InElement ? `, inside the element starting on line ${this.elementLine}` : ''
      }`,
      { line: this.state === State.InElement ? this.elementLine : this.line },
    );
  }

  /** Handles `c` outside any element; true when it starts one. */
  private between(c: number): boolean {
    if (c === LF) this.line++;
    if (isJsonSpace(c)) return false;
    switch (this.state) {
      case State.Start:
        if (c !== OPEN_BRACKET)
          throw fileProblem(
            'not_an_array',
            this.file,
            `expected a json array, found ${JSON.stringify(String.fromCharCode(c))}`,
            {
              line: this.line,
            },
          );
        this.state = State.BeforeFirst;
        return false;
      case State.BeforeFirst:
      case State.BeforeNext:
        // A trailing comma before `]` is tolerated: nothing is lost.
        if (c === CLOSE_BRACKET) {
          this.state = State.Done;
          return false;
        }
        return true;
      case State.AfterElement:
        if (c === COMMA) this.state = State.BeforeNext;
        else if (c === CLOSE_BRACKET) this.state = State.Done;
        else
          throw fileProblem(
            'malformed_json',
            this.file,
            `expected , or ] after element ${this.rows}, found ${JSON.stringify(String.fromCharCode(c))}`,
            {
              line: this.line,
            },
          );
        return false;
      default:
        throw fileProblem('malformed_json', this.file, 'text after the closing ] of the array', { line: this.line });
    }
  }

  private startElement(c: number): void {
    this.state = State.InElement;
    this.elementLine = this.line;
    this.element = '';
    this.elementLength = 0;
    this.discarding = false;
    this.escaped = false;
    if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      this.kind = Kind.Container;
      this.depth = 1;
      this.inString = false;
    } else if (c === QUOTE) {
      this.kind = Kind.String;
      this.depth = 0;
      this.inString = true;
    } else {
      this.kind = Kind.Literal;
      this.depth = 0;
      this.inString = false;
    }
  }

  private take(text: string, from: number, to: number): void {
    this.elementLength += to - from;
    if (this.discarding) return;
    if (this.elementLength > this.maxRowBytes) {
      this.discarding = true;
      this.element = '';
    } else this.element += text.slice(from, to);
  }

  private finish(text: string, from: number, to: number, emit: EmitRow): void {
    this.take(text, from, to);
    this.state = State.AfterElement;
    this.rows++;
    const element = this.element;
    this.element = '';
    if (this.discarding) {
      emit(tooLarge(this.elementLine, this.elementLength, this.maxRowBytes));
      return;
    }
    const over = overLimit(element.length, this.maxRowBytes, () => Buffer.byteLength(element));
    emit(
      over === undefined ? elementRow(this.elementLine, element) : tooLarge(this.elementLine, over, this.maxRowBytes),
    );
  }
}
