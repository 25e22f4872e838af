import { z } from 'zod';

export const fileFormats = ['csv', 'xlsx', 'json', 'ndjson'] as const;
export const textEncodings = ['utf8', 'gbk', 'gb18030'] as const;

/** How many rows `header_row: auto` looks at (see README.md beside this file). */
export const AUTO_HEADER_SCAN_ROWS = 20;

/**
 * How to read one departmental file. Embedded in the dept-files connector's config (per source), so the keys are
 * snake_case and each one documents itself.
 */
export const fileReadOptions = z
  .object({
    format: z
      .enum(fileFormats)
      .describe('file format: csv, xlsx (Office Open XML workbook), json (an array of objects) or ndjson'),
    encoding: z
      .enum(textEncodings)
      .default('utf8')
      .describe(
        'text encoding of csv/json/ndjson files (a UTF-8 byte-order mark is accepted with utf8); a file whose bytes do not match is a delivery problem (encoding_mismatch), never decoded into mojibake. gbk reads as gb18030, its superset',
      ),
    header_row: z
      .union([z.number().int().min(1).max(1000), z.literal('auto')])
      .default(1)
      .describe(
        'csv/xlsx: row number of the header (1-based, as a spreadsheet shows rows; rows above it, such as a title row, are skipped), or auto: among the first 20 non-blank rows, the first whose count of non-empty cells equals the largest such count',
      ),
    delimiter: z
      .string()
      .length(1)
      .refine((d) => d !== '"' && d !== '\n' && d !== '\r', 'a delimiter cannot be a quote or a line break')
      .default(',')
      .describe('csv: the field delimiter, one character (e.g. "," or "\\t")'),
    sheet: z.string().min(1).optional().describe('xlsx: the sheet to read, by name; default the first sheet'),
    max_row_bytes: z
      .number()
      .int()
      .min(1024)
      .max(64 * 1024 * 1024)
      .default(1024 * 1024)
      .describe(
        'a row (csv/xlsx row, json element, ndjson line) larger than this in UTF-8 bytes is dead-lettered as too_large without being held in memory',
      ),
  })
  .strict()
  .refine((o) => o.sheet === undefined || o.format === 'xlsx', {
    path: ['sheet'],
    message: 'sheet applies only to format xlsx',
  });

export type FileReadOptions = z.infer<typeof fileReadOptions>;
export type FileFormat = FileReadOptions['format'];
export type TextEncoding = FileReadOptions['encoding'];
