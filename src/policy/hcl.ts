// A parser for the HCL v1 dialect of Vault ACL policies and for the JSON form that HCL v1 also
// accepts. It follows github.com/hashicorp/hcl v1, which Vault's vault/policy.go calls, quirks
// included, so a policy that Vault accepts gives the same tree here. Every error carries a line
// and a column.

/** A position in policy text. Line and column are 1-based, and columns count Unicode code points. */
export interface SourceLocation {
  file?: string;
  line: number;
  column: number;
}

/** A position in the text being parsed. `offset` is the UTF-16 index into the text. */
export interface Position {
  line: number;
  column: number;
  offset: number;
}

/** Error raised for policy text that Vault would reject. */
export class PolicyParseError extends Error {
  readonly file?: string;
  readonly line: number;
  readonly column: number;
  /** The message without the `file:line:column: ` prefix. */
  readonly reason: string;

  constructor(reason: string, position: { line: number; column: number }, file?: string) {
    const where = file === undefined ? `${position.line}:${position.column}` : `${file}:${position.line}:${position.column}`;
    super(`${where}: ${reason}`);
    this.name = 'PolicyParseError';
    if (file !== undefined) this.file = file;
    this.line = position.line;
    this.column = position.column;
    this.reason = reason;
  }
}

export interface HclKey {
  /** The key after unquoting; identifiers are kept as written. */
  value: string;
  position: Position;
}

/**
 * One `key ... = value` or `key ... { }` entry. Blocks with labels have several keys:
 * `path "kv/*" { }` has the keys `path` and `kv/*`.
 */
export interface HclItem {
  keys: HclKey[];
  value: HclValue;
  /** Position of the `=` in `key = value` (HCL only). */
  assign?: Position;
}

export interface HclObject {
  type: 'object';
  items: HclItem[];
  position: Position;
}

export interface HclList {
  type: 'list';
  elements: HclValue[];
  position: Position;
}

/** A scalar. JSON `null` is kept as token `null` with the value "", as HCL v1 decodes it. */
export interface HclLiteral {
  type: 'literal';
  token: 'string' | 'heredoc' | 'number' | 'float' | 'bool' | 'null';
  /** The source text of the token. */
  text: string;
  /** The decoded string for strings and heredocs, "" for null, and the source text otherwise. */
  value: string;
  position: Position;
}

export type HclValue = HclObject | HclList | HclLiteral;

export interface HclDocument {
  format: 'hcl' | 'json';
  items: HclItem[];
  /** `key = value` attributes set more than once in the same HCL block, in document order. */
  duplicateAttributes: DuplicateAttribute[];
}

export interface DuplicateAttribute {
  key: string;
  /** Position of the repeated key. */
  position: Position;
  /** Position of the key's first assignment in the block. */
  firstPosition: Position;
}

type TokenKind =
  | 'ident'
  | 'string'
  | 'heredoc'
  | 'number'
  | 'float'
  | 'bool'
  | 'null'
  | 'lbrace'
  | 'rbrace'
  | 'lbrack'
  | 'rbrack'
  | 'comma'
  | 'assign'
  | 'colon'
  | 'plus'
  | 'minus'
  | 'period'
  | 'eof';

interface Token {
  kind: TokenKind;
  text: string;
  /** The decoded value for strings and heredocs, and the source text for every other token. */
  value: string;
  position: Position;
}

type Fail = (reason: string, position: { line: number; column: number }) => PolicyParseError;

/**
 * Parses policy text into a tree of items. Text whose first non-space character is `{` is read
 * as JSON, like HCL v1 does, and everything else as HCL.
 *
 * @throws PolicyParseError for text that HCL v1 rejects.
 */
export function parseHcl(text: string, file?: string): HclDocument {
  const fail: Fail = (reason, position) => new PolicyParseError(reason, position, file);
  if (startsWithBrace(text)) {
    return { format: 'json', items: new JsonParser(text, fail).parseDocument(), duplicateAttributes: [] };
  }
  const parser = new HclParser(text, fail);
  const items = parser.parseDocument();
  return { format: 'hcl', items, duplicateAttributes: parser.duplicateAttributes };
}

function startsWithBrace(text: string): boolean {
  for (const char of text) {
    if (isGoSpace(char)) continue;
    return char === '{';
  }
  return false;
}

// Go's unicode.IsSpace, which HCL v1 uses to pick JSON or HCL. JavaScript's \s also matches
// U+FEFF, which Go does not count as space.
function isGoSpace(char: string): boolean {
  return /^[\t\n\v\f\r \u0085\u00a0\p{Zs}\u2028\u2029]$/u.test(char);
}

function isLetter(char: string): boolean {
  return /^[A-Za-z_]$/.test(char) || (char >= '\u0080' && /^\p{L}$/u.test(char));
}

function isDigit(char: string): boolean {
  return /^[0-9]$/.test(char) || (char >= '\u0080' && /^\p{Nd}$/u.test(char));
}

function isDecimal(char: string): boolean {
  return char >= '0' && char <= '9' && char.length === 1;
}

function isHex(char: string): boolean {
  return /^[0-9a-fA-F]$/.test(char);
}

function isTokenSpace(char: string): boolean {
  return char === ' ' || char === '\t' || char === '\n' || char === '\r';
}

function describeChar(char: string): string {
  const code = char.codePointAt(0) ?? 0;
  if (code < 0x20 || code === 0x7f || code === 0xfeff) {
    return `U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
  }
  return JSON.stringify(char);
}

/** Reads text one code point at a time and tracks line and column. */
class SourceReader {
  private index = 0;
  private line = 1;
  private column = 1;

  constructor(readonly text: string) {}

  position(): Position {
    return { line: this.line, column: this.column, offset: this.index };
  }

  get offset(): number {
    return this.index;
  }

  /** Returns the code point `ahead` code points from here, or "" past the end. */
  peek(ahead = 0): string {
    let at = this.index;
    for (let step = 0; step < ahead && at < this.text.length; step++) {
      at += (this.text.codePointAt(at) ?? 0) > 0xffff ? 2 : 1;
    }
    if (at >= this.text.length) return '';
    return String.fromCodePoint(this.text.codePointAt(at) ?? 0);
  }

  /** Consumes and returns one code point, or "" at the end. */
  next(): string {
    const char = this.peek();
    if (char === '') return '';
    this.index += char.length;
    if (char === '\n') {
      this.line++;
      this.column = 1;
    } else {
      this.column++;
    }
    return char;
  }
}

/** Scans escape sequences the way HCL v1's scanner does, for HCL and JSON strings alike. */
function scanEscape(reader: SourceReader, backslash: Position, fail: Fail): void {
  const char = reader.next();
  let digits = 0;
  let base = 16;
  switch (char) {
    case 'a':
    case 'b':
    case 'f':
    case 'n':
    case 'r':
    case 't':
    case 'v':
    case '\\':
    case '"':
      return;
    case 'x':
      digits = 2;
      break;
    case 'u':
      digits = 4;
      break;
    case 'U':
      digits = 8;
      break;
    default:
      if (char >= '0' && char <= '7' && char.length === 1) {
        // The first octal digit is already consumed, and an octal escape has exactly three.
        digits = 2;
        base = 8;
        break;
      }
      throw fail(`invalid escape sequence "\\${char}" in string`, backslash);
  }
  for (let index = 0; index < digits; index++) {
    const digit = reader.peek();
    const valid = base === 8 ? digit >= '0' && digit <= '7' && digit.length === 1 : isHex(digit);
    if (!valid) {
      const expected = base === 8 ? '3 octal digits' : `${digits} hexadecimal digits`;
      throw fail(`invalid escape sequence "\\${char}" (expected ${expected})`, backslash);
    }
    reader.next();
  }
}

/**
 * Decodes the escape that starts with the backslash at `raw[index]`, and returns its text and the
 * index after it. In Go, `\x` and octal escapes produce a single byte. Here they produce the code
 * point with that byte's value, so the result differs from Go's for values above 0x7f.
 */
function decodeEscape(raw: string, index: number, json: boolean): { text: string; end: number } | undefined {
  const char = raw[index + 1] ?? '';
  const simple: Record<string, string> = { a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', '\\': '\\', '"': '"' };
  const mapped = simple[char];
  if (mapped !== undefined) return { text: mapped, end: index + 2 };

  const hexDigits: Record<string, number> = { x: 2, u: 4, U: 8 };
  const length = hexDigits[char];
  if (length !== undefined) {
    const digits = raw.slice(index + 2, index + 2 + length);
    if (digits.length !== length || !/^[0-9a-fA-F]+$/.test(digits)) return undefined;
    const code = parseInt(digits, 16);
    if (char === 'x') return { text: String.fromCharCode(code), end: index + 2 + length };
    if (code > 0x10ffff) return undefined;
    if (code >= 0xd800 && code <= 0xdfff) {
      // Go's strconv rejects surrogates in JSON strings, while HCL's own unquote turns them into U+FFFD.
      if (json) return undefined;
      return { text: '\ufffd', end: index + 2 + length };
    }
    return { text: String.fromCodePoint(code), end: index + 2 + length };
  }

  const octal = raw.slice(index + 1, index + 4);
  if (/^[0-7]{3}$/.test(octal)) {
    const code = parseInt(octal, 8);
    if (code > 255) return undefined;
    return { text: String.fromCharCode(code), end: index + 4 };
  }
  return undefined;
}

/**
 * Unquotes an HCL string body. The contents of the first `${...}` at any point are kept verbatim,
 * escapes included, like HCL v1's strconv.Unquote does. Directly after such a block one character
 * is decoded normally before `${` is recognised again, which is also what HCL v1 does.
 */
function unquoteHcl(raw: string): string | undefined {
  if (raw.includes('\n')) return undefined;
  let result = '';
  let index = 0;
  while (index < raw.length) {
    if (raw[index] === '$' && raw[index + 1] === '{') {
      let depth = 1;
      let end = index + 2;
      while (end < raw.length && depth > 0) {
        if (raw[end] === '{') depth++;
        else if (raw[end] === '}') depth--;
        end++;
      }
      if (depth !== 0) return undefined;
      result += raw.slice(index, end);
      index = end;
      if (index >= raw.length) break;
    }
    if (raw[index] === '\\') {
      const escape = decodeEscape(raw, index, false);
      if (escape === undefined) return undefined;
      result += escape.text;
      index = escape.end;
    } else {
      const code = raw.codePointAt(index) ?? 0;
      const char = String.fromCodePoint(code);
      result += char;
      index += char.length;
    }
  }
  return result;
}

/** Unquotes a JSON string body with Go's strconv.Unquote rules, which HCL v1 applies to JSON. */
function unquoteJson(raw: string): string | undefined {
  let result = '';
  let index = 0;
  while (index < raw.length) {
    if (raw[index] === '\\') {
      const escape = decodeEscape(raw, index, true);
      if (escape === undefined) return undefined;
      result += escape.text;
      index = escape.end;
    } else {
      result += raw[index];
      index++;
    }
  }
  return result;
}

/**
 * Returns a heredoc's value from its full token text (`<<EOF\n...\nEOF\n`). The slicing
 * arithmetic matches HCL v1's unindentHeredoc, so an indented closing line in a plain `<<`
 * heredoc leaves its indentation in the value, exactly as Vault decodes it.
 */
function heredocValue(tokenText: string): string {
  const newline = tokenText.indexOf('\n');
  const indented = tokenText[2] === '-';
  if (!indented) return tokenText.slice(newline + 1, tokenText.length - newline + 1);

  const lines = tokenText.slice(newline + 1, tokenText.length - newline + 2).split('\n');
  const prefix = lines[lines.length - 1] ?? '';
  if (!lines.every((line) => line.startsWith(prefix))) {
    return tokenText.slice(newline + 1, tokenText.length - newline + 1).replace(/[ \t]+$/, '');
  }
  return lines.map((line, index) => (index === lines.length - 1 ? '' : line.slice(prefix.length))).join('\n');
}

/** Scanning steps shared by the HCL and JSON lexers. */
abstract class Lexer {
  protected readonly reader: SourceReader;

  constructor(
    protected readonly text: string,
    protected readonly fail: Fail,
  ) {
    this.reader = new SourceReader(text);
  }

  abstract next(): Token;

  protected token(kind: TokenKind, start: Position): Token {
    const text = this.text.slice(start.offset, this.reader.offset);
    return { kind, text, value: text, position: start };
  }

  protected digits(): number {
    let count = 0;
    while (isDecimal(this.reader.peek())) {
      this.reader.next();
      count++;
    }
    return count;
  }

  /** Consumes an exponent such as `e-3` if one follows, and returns whether it did. */
  protected exponent(start: Position): boolean {
    const reader = this.reader;
    if (reader.peek() !== 'e' && reader.peek() !== 'E') return false;
    reader.next();
    if (reader.peek() === '+' || reader.peek() === '-') reader.next();
    if (this.digits() === 0) throw this.fail('invalid number (the exponent has no digits)', start);
    return true;
  }
}

class HclLexer extends Lexer {
  next(): Token {
    const reader = this.reader;
    for (;;) {
      while (isTokenSpace(reader.peek())) reader.next();
      const start = reader.position();
      const char = reader.peek();

      if (char === '') return this.token('eof', start);
      if (char === '#' || (char === '/' && reader.peek(1) === '/')) {
        while (reader.peek() !== '' && reader.peek() !== '\n') reader.next();
        continue;
      }
      if (char === '/' && reader.peek(1) === '*') {
        const end = this.text.indexOf('*/', start.offset + 2);
        if (end < 0) throw this.fail('unterminated comment (missing "*/")', start);
        while (reader.offset < end + 2) reader.next();
        continue;
      }
      if (char === '/') throw this.fail('unexpected "/" (comments start with "//" or "/*")', start);

      if (isLetter(char)) {
        reader.next();
        while (isLetter(reader.peek()) || isDigit(reader.peek()) || reader.peek() === '-' || reader.peek() === '.') {
          reader.next();
        }
        const token = this.token('ident', start);
        if (token.text === 'true' || token.text === 'false') token.kind = 'bool';
        return token;
      }
      if (isDecimal(char) || (char === '-' && isDecimal(reader.peek(1)))) return this.number(start);
      if (char === '.' && isDecimal(reader.peek(1))) {
        reader.next();
        this.digits();
        this.exponent(start);
        return this.token('float', start);
      }
      if (char === '"') return this.string(start);
      if (char === '<') return this.heredoc(start);

      const punctuation: Record<string, TokenKind> = {
        '{': 'lbrace',
        '}': 'rbrace',
        '[': 'lbrack',
        ']': 'rbrack',
        ',': 'comma',
        '=': 'assign',
        '+': 'plus',
        '-': 'minus',
        '.': 'period',
      };
      const kind = punctuation[char];
      if (kind !== undefined) {
        reader.next();
        return this.token(kind, start);
      }
      if (char === '\0') throw this.fail('unexpected null character (U+0000)', start);
      throw this.fail(`illegal character ${describeChar(char)}`, start);
    }
  }

  private number(start: Position): Token {
    const reader = this.reader;
    if (reader.peek() === '-') reader.next();

    if (reader.peek() === '0' && (reader.peek(1) === 'x' || reader.peek(1) === 'X')) {
      reader.next();
      reader.next();
      let count = 0;
      while (isHex(reader.peek())) {
        reader.next();
        count++;
      }
      if (count === 0) throw this.fail('invalid hexadecimal number (no digits after "0x")', start);
      return this.token('number', start);
    }

    const leadingZero = reader.peek() === '0';
    const integerStart = reader.offset;
    this.digits();
    const integerDigits = this.text.slice(integerStart, reader.offset);
    if (this.exponent(start)) return this.token('float', start);
    if (reader.peek() === '.') {
      reader.next();
      this.digits();
      this.exponent(start);
      return this.token('float', start);
    }
    if (leadingZero && /[89]/.test(integerDigits)) {
      throw this.fail(`invalid octal number "${integerDigits}" (a number that starts with 0 is octal)`, start);
    }
    return this.token('number', start);
  }

  private string(start: Position): Token {
    const reader = this.reader;
    reader.next();
    let braces = 0;
    for (;;) {
      const position = reader.position();
      const char = reader.next();
      if (char === '' || (char === '\n' && braces === 0)) {
        throw this.fail(`unterminated string (missing closing '"' before the end of the ${char === '' ? 'file' : 'line'})`, start);
      }
      if (char === '"' && braces === 0) break;
      // Quotes inside ${...} do not end the string, as in HCL v1.
      if (braces === 0 && char === '$' && reader.peek() === '{') {
        braces++;
        reader.next();
      } else if (braces > 0 && char === '{') {
        braces++;
      }
      if (braces > 0 && char === '}') braces--;
      if (char === '\\') scanEscape(reader, position, this.fail);
    }
    const token = this.token('string', start);
    const value = unquoteHcl(token.text.slice(1, -1));
    if (value === undefined) {
      throw this.fail('invalid string (a "${" is not closed by "}", or an escape sequence is out of range)', start);
    }
    token.value = value;
    return token;
  }

  private heredoc(start: Position): Token {
    const reader = this.reader;
    reader.next();
    if (reader.next() !== '<') throw this.fail('illegal character "<" (a heredoc starts with "<<")', start);

    const indented = reader.peek() === '-';
    if (indented) reader.next();
    const anchorStart = reader.offset;
    while (isLetter(reader.peek()) || isDigit(reader.peek())) reader.next();
    const anchor = this.text.slice(anchorStart, reader.offset);

    let char = reader.next();
    if (char === '\r' && reader.peek() === '\n') char = reader.next();
    if (char === '') throw this.fail(`unterminated heredoc "<<${indented ? '-' : ''}${anchor}"`, start);
    if (char !== '\n') throw this.fail('invalid heredoc anchor ("<<" must be followed by a name and a newline)', start);
    if (anchor === '') throw this.fail('invalid heredoc (the anchor name after "<<" is empty)', start);

    // HCL v1 accepts leading whitespace before the closing name even without "<<-", and it
    // compares the line's length in bytes with the anchor's, "-" included.
    const closing = new RegExp(`^[\\t\\n\\v\\f\\r ]*${anchor}\\r*$`, 'u');
    const anchorBytes = Buffer.byteLength(anchor) + (indented ? 1 : 0);
    let lineStart = reader.offset;
    for (;;) {
      char = reader.next();
      if (char === '\n') {
        const line = this.text.slice(lineStart, reader.offset - 1);
        if (Buffer.byteLength(line) >= anchorBytes && closing.test(line)) break;
        lineStart = reader.offset;
      }
      if (char === '') {
        throw this.fail(`unterminated heredoc (no closing "${anchor}" line followed by a newline)`, start);
      }
    }
    const token = this.token('heredoc', start);
    token.value = heredocValue(token.text);
    return token;
  }
}

function describeToken(token: Token): string {
  switch (token.kind) {
    case 'eof':
      return 'the end of the file';
    case 'string':
      return `the string ${token.text}`;
    case 'heredoc':
      return 'a heredoc';
    case 'ident':
      return `the identifier "${token.text}"`;
    case 'number':
    case 'float':
      return `the number ${token.text}`;
    default:
      return `"${token.text}"`;
  }
}

function describeKeys(keys: HclKey[]): string {
  return `${keys.length === 1 ? 'key' : 'keys'} ${keys.map((key) => JSON.stringify(key.value)).join(' ')}`;
}

class HclParser {
  readonly duplicateAttributes: DuplicateAttribute[] = [];
  private readonly lexer: HclLexer;
  private buffered: Token | undefined;

  constructor(
    text: string,
    private readonly fail: Fail,
  ) {
    this.lexer = new HclLexer(text, fail);
  }

  parseDocument(): HclItem[] {
    return this.objectList(undefined);
  }

  private peek(): Token {
    this.buffered ??= this.lexer.next();
    return this.buffered;
  }

  private next(): Token {
    const token = this.peek();
    this.buffered = undefined;
    return token;
  }

  /** Parses items up to the `}` that closes `open`, or to the end of the file at the top level. */
  private objectList(open: Position | undefined): HclItem[] {
    const items: HclItem[] = [];
    const assigned = new Map<string, Position>();
    for (;;) {
      const token = this.peek();
      if (token.kind === 'eof') {
        if (open !== undefined) throw this.fail('unclosed "{" (expected "}" before the end of the file)', open);
        return items;
      }
      if (token.kind === 'rbrace') {
        if (open === undefined) throw this.fail('unexpected "}" without a matching "{"', token.position);
        this.next();
        return items;
      }

      const item = this.objectItem(open === undefined);
      if (item === undefined) return items;
      items.push(item);
      this.recordAssignment(item, assigned);
      // Items may be separated by commas, as in a list of objects.
      if (this.peek().kind === 'comma') this.next();
    }
  }

  // Vault 1.21 and later reject a block that sets the same attribute twice, but older versions
  // accept it, so this parser only records it.
  private recordAssignment(item: HclItem, assigned: Map<string, Position>): void {
    const key = item.keys[0];
    if (item.assign === undefined || key === undefined || item.keys.length !== 1) return;
    const firstPosition = assigned.get(key.value);
    if (firstPosition === undefined) assigned.set(key.value, key.position);
    else this.duplicateAttributes.push({ key: key.value, position: key.position, firstPosition });
  }

  /** Returns undefined only for `key =` at the very end of a file, which HCL v1 drops silently. */
  private objectItem(topLevel: boolean): HclItem | undefined {
    const keys: HclKey[] = [];
    for (;;) {
      const token = this.next();
      if (token.kind === 'ident' || token.kind === 'string') {
        keys.push({ value: token.value, position: token.position });
        continue;
      }
      if (token.kind === 'assign') {
        if (keys.length === 0) throw this.fail('expected a key before "="', token.position);
        if (keys.length > 1) {
          // HCL v1 rejects `path "kv/*" = { }`; only single keys take "=".
          throw this.fail(`expected "{" after ${describeKeys(keys)}, because a block with labels cannot use "="`, token.position);
        }
        if (topLevel && this.peek().kind === 'eof') return undefined;
        return { keys, value: this.value(token), assign: token.position };
      }
      if (token.kind === 'lbrace') {
        if (keys.length === 0) throw this.fail('expected a key before "{"', token.position);
        return { keys, value: this.objectType(token.position) };
      }
      if (keys.length === 0) throw this.fail(`expected a key, found ${describeToken(token)}`, token.position);
      throw this.fail(`expected "=" or "{" after ${describeKeys(keys)}, found ${describeToken(token)}`, token.position);
    }
  }

  private value(assign: Token): HclValue {
    const token = this.next();
    switch (token.kind) {
      case 'number':
      case 'float':
      case 'bool':
      case 'string':
      case 'heredoc':
        return literal(token);
      case 'lbrace':
        return this.objectType(token.position);
      case 'lbrack':
        return this.listType(token.position);
      case 'ident':
        throw this.fail(`expected a value after "=", found ${describeToken(token)} (quote strings with '"')`, token.position);
      case 'eof':
        throw this.fail('expected a value after "=", found the end of the file', assign.position);
      default:
        throw this.fail(`expected a value after "=", found ${describeToken(token)}`, token.position);
    }
  }

  private objectType(open: Position): HclObject {
    return { type: 'object', items: this.objectList(open), position: open };
  }

  private listType(open: Position): HclList {
    const elements: HclValue[] = [];
    let needComma = false;
    for (;;) {
      const token = this.next();
      if (token.kind === 'eof') throw this.fail('unclosed "[" (expected "]" before the end of the file)', open);
      if (needComma && token.kind !== 'comma' && token.kind !== 'rbrack') {
        throw this.fail(`expected "," or "]" in list, found ${describeToken(token)}`, token.position);
      }
      switch (token.kind) {
        case 'number':
        case 'float':
        case 'string':
        case 'heredoc':
          elements.push(literal(token));
          needComma = true;
          break;
        case 'lbrace':
          elements.push(this.objectType(token.position));
          needComma = true;
          break;
        case 'comma':
          // HCL v1 accepts leading and repeated commas in lists.
          needComma = false;
          break;
        case 'bool':
          // HCL v1 silently drops booleans inside lists, so they never reach Vault.
          break;
        case 'rbrack':
          return { type: 'list', elements, position: open };
        case 'lbrack':
          throw this.fail('nested lists are not supported', token.position);
        default:
          throw this.fail(`unexpected ${describeToken(token)} in list`, token.position);
      }
    }
  }
}

function literal(token: Token): HclLiteral {
  const kind = token.kind;
  if (kind !== 'string' && kind !== 'heredoc' && kind !== 'number' && kind !== 'float' && kind !== 'bool' && kind !== 'null') {
    throw new Error(`token ${kind} is not a literal`);
  }
  return { type: 'literal', token: kind, text: token.text, value: kind === 'null' ? '' : token.value, position: token.position };
}

class JsonLexer extends Lexer {
  next(): Token {
    const reader = this.reader;
    while (isTokenSpace(reader.peek())) reader.next();
    const start = reader.position();
    const char = reader.peek();

    if (char === '') return this.token('eof', start);
    if (isLetter(char)) {
      reader.next();
      while (isLetter(reader.peek()) || isDigit(reader.peek()) || reader.peek() === '-') reader.next();
      const token = this.token('ident', start);
      if (token.text === 'true' || token.text === 'false') token.kind = 'bool';
      else if (token.text === 'null') token.kind = 'null';
      else throw this.fail(`invalid JSON literal "${token.text}" (quote strings with '"')`, start);
      return token;
    }
    if (isDecimal(char) || (char === '-' && isDecimal(reader.peek(1)))) return this.number(start);
    if (char === '.' && isDecimal(reader.peek(1))) {
      reader.next();
      this.digits();
      this.exponent(start);
      return this.token('float', start);
    }
    if (char === '"') return this.string(start);

    const punctuation: Record<string, TokenKind> = {
      '{': 'lbrace',
      '}': 'rbrace',
      '[': 'lbrack',
      ']': 'rbrack',
      ',': 'comma',
      ':': 'colon',
      '.': 'period',
    };
    const kind = punctuation[char];
    if (kind !== undefined) {
      reader.next();
      return this.token(kind, start);
    }
    throw this.fail(`illegal character ${describeChar(char)} in JSON`, start);
  }

  private number(start: Position): Token {
    const reader = this.reader;
    if (reader.peek() === '-') reader.next();
    const leadingZero = reader.peek() === '0';
    const count = this.digits();
    if (this.exponent(start)) return this.token('float', start);
    if (reader.peek() === '.') {
      reader.next();
      this.digits();
      this.exponent(start);
      return this.token('float', start);
    }
    if (leadingZero && count > 1) throw this.fail('invalid number (JSON numbers cannot start with 0)', start);
    return this.token('number', start);
  }

  private string(start: Position): Token {
    const reader = this.reader;
    reader.next();
    for (;;) {
      const position = reader.position();
      const char = reader.next();
      if (char === '' || char === '\n') {
        throw this.fail(`unterminated string (missing closing '"' before the end of the ${char === '' ? 'file' : 'line'})`, start);
      }
      if (char === '"') break;
      if (char === '\\') scanEscape(reader, position, this.fail);
    }
    const token = this.token('string', start);
    const value = unquoteJson(token.text.slice(1, -1));
    if (value === undefined) throw this.fail('invalid string (an escape sequence is out of range)', start);
    token.value = value;
    return token;
  }
}

class JsonParser {
  private readonly lexer: JsonLexer;
  private buffered: Token | undefined;

  constructor(
    text: string,
    private readonly fail: Fail,
  ) {
    this.lexer = new JsonLexer(text, fail);
  }

  parseDocument(): HclItem[] {
    const open = this.next();
    if (open.kind !== 'lbrace') throw this.fail(`expected "{" to start the JSON document, found ${describeToken(open)}`, open.position);
    // HCL v1 ignores anything after the root object, so Vault accepts trailing text there, and
    // so does this parser.
    const root = this.objectType(open.position);
    return flattenItems(root.items);
  }

  private peek(): Token {
    this.buffered ??= this.lexer.next();
    return this.buffered;
  }

  private next(): Token {
    const token = this.peek();
    this.buffered = undefined;
    return token;
  }

  // NOTE: HCL v1 also accepts a key without a value just before "}", as in {"a": 1, "b"}, and
  // drops it. This parser rejects that form.
  private objectType(open: Position): HclObject {
    const items: HclItem[] = [];
    for (;;) {
      const token = this.peek();
      if (token.kind === 'rbrace') {
        // HCL v1 accepts a trailing comma before "}".
        this.next();
        return { type: 'object', items, position: open };
      }
      if (token.kind === 'eof') throw this.fail('unclosed "{" (expected "}" before the end of the file)', open);
      items.push(this.objectItem());

      const separator = this.next();
      if (separator.kind === 'rbrace') return { type: 'object', items, position: open };
      if (separator.kind === 'eof') throw this.fail('unclosed "{" (expected "}" before the end of the file)', open);
      if (separator.kind !== 'comma') throw this.fail(`expected "," or "}" in object, found ${describeToken(separator)}`, separator.position);
    }
  }

  private objectItem(): HclItem {
    const keys: HclKey[] = [];
    for (;;) {
      const token = this.next();
      if (token.kind === 'string') {
        keys.push({ value: token.value, position: token.position });
        continue;
      }
      if (token.kind === 'colon' && keys.length > 0) return { keys, value: this.value() };
      if (keys.length === 0) throw this.fail(`expected a quoted key, found ${describeToken(token)}`, token.position);
      throw this.fail(`expected ":" after ${describeKeys(keys)}, found ${describeToken(token)}`, token.position);
    }
  }

  private value(): HclValue {
    const token = this.next();
    switch (token.kind) {
      case 'number':
      case 'float':
      case 'bool':
      case 'null':
      case 'string':
        return literal(token);
      case 'lbrace':
        return this.objectType(token.position);
      case 'lbrack':
        return this.listType(token.position);
      default:
        throw this.fail(`expected a value after ":", found ${describeToken(token)}`, token.position);
    }
  }

  private listType(open: Position): HclList {
    const elements: HclValue[] = [];
    for (;;) {
      const token = this.next();
      switch (token.kind) {
        case 'number':
        case 'float':
        case 'string':
          elements.push(literal(token));
          break;
        case 'lbrace':
          elements.push(this.objectType(token.position));
          break;
        case 'comma':
          // HCL v1's JSON parser does not require commas between list elements.
          break;
        case 'bool':
          // HCL v1 silently drops booleans inside lists, so they never reach Vault.
          break;
        case 'rbrack':
          return { type: 'list', elements, position: open };
        case 'lbrack':
          throw this.fail('nested lists are not supported', token.position);
        case 'eof':
          throw this.fail('unclosed "[" (expected "]" before the end of the file)', open);
        default:
          throw this.fail(`unexpected ${describeToken(token)} in list`, token.position);
      }
    }
  }
}

/**
 * Flattens JSON objects the way HCL v1's JSON parser does, which turns
 * `{"path": {"kv/*": {...}}}` into the item `path "kv/*" {...}`. An item whose value is a
 * non-empty object containing only objects is replaced by one item per member with the member's
 * key appended. An item whose value is a non-empty list of objects is replaced by one item per
 * element. Both steps repeat on the results, and nested objects are flattened too.
 */
function flattenItems(items: HclItem[]): HclItem[] {
  const flattened: HclItem[] = [];
  const expand = (item: HclItem): void => {
    const value = item.value;
    if (value.type === 'object' && value.items.length > 0 && value.items.every((member) => member.value.type === 'object')) {
      for (const member of value.items) expand({ keys: [...item.keys, ...member.keys], value: member.value });
      return;
    }
    if (value.type === 'list' && value.elements.length > 0 && value.elements.every((element) => element.type === 'object')) {
      for (const element of value.elements) expand({ keys: item.keys, value: element });
      return;
    }
    flattened.push(item);
  };
  items.forEach(expand);

  for (const item of flattened) flattenValue(item.value);
  return flattened;
}

function flattenValue(value: HclValue): void {
  if (value.type === 'object') value.items = flattenItems(value.items);
  else if (value.type === 'list') value.elements.forEach(flattenValue);
}
