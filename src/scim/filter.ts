import SCIMMY from 'scimmy';
import type { CompareOp, FilterNode, FilterValue, ScimAttribute, ScimFilter, ScimResourceAttributes } from '../store/scim-filter.ts';
import { CORE_GROUP, CORE_USER, ENTERPRISE_USER, TURNOVER_USER, TurnoverUser } from './schemas.ts';

/**
 * SCIM filter expressions (RFC 7644 §3.4.2.2) parsed into a tree that the store turns into a
 * WHERE clause (src/store/scim-filter.ts).
 *
 * Why not SCIMMY's Filter here: it flattens an expression into OR-of-ANDs and distributes `not`
 * over a group without De Morgan (`not (a or b)` comes out as `not a or not b`), and it silently
 * drops a dangling `or` or a missing value (`userName eq` parses). Both would answer an IdP with
 * the wrong users instead of 400 invalidFilter. SCIMMY's Filter still evaluates PATCH value paths
 * and attribute selection, which it does correctly.
 */
export type { CompareOp, FilterNode, FilterValue };

const COMPARE_OPS = new Set<string>(['eq', 'ne', 'co', 'sw', 'ew', 'gt', 'ge', 'lt', 'le']);
/** A bound on nesting, so a hostile filter cannot exhaust the stack. */
const MAX_DEPTH = 32;
export const MAX_FILTER_LENGTH = 4096;

export function invalidFilter(message: string): SCIMMY.Types.SCIMError {
  return new SCIMMY.Types.Error(400, 'invalidFilter', message);
}

/** How attribute keys name each schema: the core schemas by nothing, the extensions by a short name. */
const KEY_PREFIX = { [CORE_USER]: '', [CORE_GROUP]: '', [ENTERPRISE_USER]: 'enterprise:', [TURNOVER_USER]: 'turnover:' };
const SCHEMA_PREFIXES = Object.entries(KEY_PREFIX).map(([urn, short]) => [urn.toLowerCase() + ':', short] as const);

/** `urn:...:enterprise:2.0:User:employeeNumber` -> `enterprise:employeenumber`; attribute names are case-insensitive. */
export function attributeKey(path: string): string {
  const lower = path.toLowerCase();
  for (const [prefix, short] of SCHEMA_PREFIXES) {
    if (lower.startsWith(prefix)) return short + lower.slice(prefix.length);
  }
  return lower;
}

/** A list request's filter as the store takes it: parsed (400 invalidFilter when malformed), with SCIM's attribute names and schemas. */
export function scimFilter(expression: string | undefined): ScimFilter | undefined {
  return expression === undefined ? undefined : { tree: parseFilter(expression), attributeKey, attributes: filterAttributes() };
}

type Definition = { id: string; attributes: unknown[] };

/** RFC 7643 §3.1: every schema definition SCIMMY makes carries these; they belong to the resource, not to an extension. */
const COMMON = new Set(['schemas', 'id', 'externalid', 'meta']);

function describe(attribute: SCIMMY.Types.Attribute): ScimAttribute {
  const config = attribute.config as { multiValued?: boolean; caseExact?: boolean; returned?: string | boolean };
  return {
    name: attribute.name,
    type: attribute.type as ScimAttribute['type'],
    multiValued: config.multiValued === true,
    caseExact: config.caseExact === true,
    neverReturned: config.returned === false || config.returned === 'never',
    subAttributes: (attribute.subAttributes ?? []).map(describe),
  };
}

/** A schema's own attributes: an extension without the common ones; a core schema without the extensions SCIMMY nests in it. */
function schemaOf(definition: Definition) {
  const prefix = KEY_PREFIX[definition.id as keyof typeof KEY_PREFIX];
  if (prefix === undefined) throw new Error(`No attribute key prefix for the schema ${definition.id}.`);
  const own = definition.attributes.filter((a): a is SCIMMY.Types.Attribute => a instanceof SCIMMY.Types.Attribute);
  return { id: definition.id, prefix, attributes: own.filter((a) => prefix === '' || !COMMON.has(a.name.toLowerCase())).map(describe) };
}

const described = new Map<string, ScimFilter['attributes']>();

/**
 * Every attribute of the schemas served, from SCIMMY's definitions (so a new attribute is
 * filterable as soon as it is declared, once the store knows where it is kept), with the base
 * URL meta.location is served under.
 */
export function filterAttributes(): ScimFilter['attributes'] {
  const users = SCIMMY.Resources.User.basepath() as string | undefined;
  const groups = SCIMMY.Resources.Group.basepath() as string | undefined;
  const cacheKey = `${users} ${groups}`;
  let attributes = described.get(cacheKey);
  if (!attributes) {
    const resource = (schemas: ScimResourceAttributes['schemas'], location: string | undefined): ScimResourceAttributes => ({ schemas, ...(location ? { location } : {}) });
    attributes = {
      users: resource(
        [
          schemaOf(SCIMMY.Schemas.User.definition),
          schemaOf(SCIMMY.Schemas.EnterpriseUser.definition),
          schemaOf(TurnoverUser.definition as unknown as Definition),
        ],
        users,
      ),
      groups: resource([schemaOf(SCIMMY.Schemas.Group.definition)], groups),
    };
    described.set(cacheKey, attributes);
  }
  return attributes;
}

export function parseFilter(expression: string): FilterNode {
  if (typeof expression !== 'string' || !expression.trim()) throw invalidFilter('The filter is empty.');
  if (expression.length > MAX_FILTER_LENGTH) throw invalidFilter(`The filter is longer than ${MAX_FILTER_LENGTH} characters.`);
  const parser = new Parser(expression);
  const node = parser.or(0, false);
  parser.skipSpace();
  if (!parser.done()) throw parser.error('unexpected text');
  return node;
}

class Parser {
  private at = 0;
  constructor(private readonly text: string) {}

  done(): boolean {
    return this.at >= this.text.length;
  }

  skipSpace(): void {
    while (this.at < this.text.length && /\s/.test(this.text[this.at]!)) this.at++;
  }

  error(what: string): SCIMMY.Types.SCIMError {
    const near = this.text.slice(this.at, this.at + 20);
    return invalidFilter(`Invalid filter: ${what} at position ${this.at + 1}${near ? ` near '${near}'` : ''}.`);
  }

  /** The next word (letters, digits and `_ $ : . -`), without consuming it. */
  private peekWord(): string {
    this.skipSpace();
    const match = /^[A-Za-z_$][\w$:.\-]*/.exec(this.text.slice(this.at));
    return match ? match[0] : '';
  }

  private keyword(word: string): boolean {
    const next = this.peekWord();
    if (next.toLowerCase() !== word) return false;
    this.at += next.length;
    return true;
  }

  private char(c: string): boolean {
    this.skipSpace();
    if (this.text[this.at] !== c) return false;
    this.at++;
    return true;
  }

  or(depth: number, inValuePath: boolean): FilterNode {
    let left = this.and(depth, inValuePath);
    while (this.keyword('or')) left = { kind: 'or', left, right: this.and(depth, inValuePath) };
    return left;
  }

  private and(depth: number, inValuePath: boolean): FilterNode {
    let left = this.unary(depth, inValuePath);
    while (this.keyword('and')) left = { kind: 'and', left, right: this.unary(depth, inValuePath) };
    return left;
  }

  private unary(depth: number, inValuePath: boolean): FilterNode {
    if (depth > MAX_DEPTH) throw this.error('too deeply nested');
    if (this.keyword('not')) return { kind: 'not', node: this.unary(depth + 1, inValuePath) };
    if (this.char('(')) {
      const node = this.or(depth + 1, inValuePath);
      if (!this.char(')')) throw this.error("missing ')'");
      return node;
    }
    return this.attributeExpression(depth, inValuePath);
  }

  private attributeExpression(depth: number, inValuePath: boolean): FilterNode {
    const path = this.peekWord();
    if (!path || ['and', 'or', 'not'].includes(path.toLowerCase())) throw this.error('expected an attribute');
    this.at += path.length;
    if (this.text[this.at] === '[') {
      if (inValuePath) throw this.error('value filters cannot be nested');
      this.at++;
      const inner = this.or(depth + 1, true);
      if (!this.char(']')) throw this.error("missing ']'");
      if (this.text[this.at] !== '.') return { kind: 'valuePath', path, filter: inner };
      this.at++;
      const sub = this.peekWord();
      if (!sub) throw this.error('expected a sub-attribute');
      this.at += sub.length;
      return { kind: 'valuePath', path, filter: { kind: 'and', left: inner, right: this.comparison(sub) } };
    }
    return this.comparison(path);
  }

  private comparison(path: string): FilterNode {
    const op = this.peekWord().toLowerCase();
    if (op === 'pr') {
      this.at += 2;
      return { kind: 'present', path };
    }
    if (!COMPARE_OPS.has(op)) throw this.error(`expected an operator after '${path}'`);
    this.at += op.length;
    const { value, raw } = this.value();
    return { kind: 'compare', path, op: op as CompareOp, value, ...(raw === undefined ? {} : { raw }) };
  }

  /** A JSON string, number, true, false or null; or a bare word (Entra sends `externalId eq 1a2b-..`). */
  private value(): { value: FilterValue; raw?: string } {
    this.skipSpace();
    const rest = this.text.slice(this.at);
    if (rest.startsWith('"')) {
      const match = /^"(?:[^"\\]|\\.)*"/.exec(rest);
      if (!match) throw this.error('unterminated string');
      this.at += match[0].length;
      let value: string;
      try {
        value = JSON.parse(match[0]) as string;
      } catch {
        throw this.error('invalid string escape');
      }
      // PostgreSQL text cannot hold NUL, and no stored value has one.
      if (value.includes('\u0000')) throw this.error('a NUL character in a value');
      return { value };
    }
    const bare = /^[^\s()[\]"\u0000]+/.exec(rest)?.[0];
    if (!bare) throw this.error('expected a value');
    this.at += bare.length;
    const lower = bare.toLowerCase();
    if (lower === 'true' || lower === 'false') return { value: lower === 'true', raw: bare };
    if (lower === 'null') return { value: null, raw: bare };
    if (/^-?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(bare)) return { value: Number(bare), raw: bare };
    return { value: bare, raw: bare };
  }
}
