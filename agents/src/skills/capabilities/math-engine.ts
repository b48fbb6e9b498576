/* eslint-disable @typescript-eslint/restrict-template-expressions -- Fraction defines toString() for display */
/**
 * Exact arithmetic for the tutoring agents: rational numbers, polynomials in one variable, an
 * expression parser with operator precedence (no eval), and solvers for linear and quadratic
 * equations that record their steps. Everything is exact (bigint fractions) so answers like 1/2 are
 * shown as fractions, never as 0.49999.
 */

const babs = (a: bigint): bigint => (a < 0n ? -a : a);
const gcd = (a: bigint, b: bigint): bigint => {
  let x = babs(a);
  let y = babs(b);
  while (y) [x, y] = [y, x % y];
  return x || 1n;
};

export class MathError extends Error {}

/** An exact rational number in lowest terms with a positive denominator. */
export class Fraction {
  readonly n: bigint;
  readonly d: bigint;
  constructor(n: bigint, d: bigint = 1n) {
    if (d === 0n) throw new MathError('division by zero');
    const g = gcd(n, d);
    const sign = d < 0n ? -1n : 1n;
    this.n = (sign * n) / g;
    this.d = (sign * d) / g;
  }
  static of(value: number | string): Fraction {
    const text = String(value);
    const m = /^(-?)(\d+)(?:\.(\d+))?$/.exec(text);
    if (!m) throw new MathError(`not a number: ${text}`);
    const decimals = m[3] ?? '';
    const n = BigInt(`${m[2]}${decimals}`) * (m[1] ? -1n : 1n);
    return new Fraction(n, 10n ** BigInt(decimals.length));
  }
  static readonly zero = new Fraction(0n);
  static readonly one = new Fraction(1n);
  add(o: Fraction): Fraction {
    return new Fraction(this.n * o.d + o.n * this.d, this.d * o.d);
  }
  sub(o: Fraction): Fraction {
    return new Fraction(this.n * o.d - o.n * this.d, this.d * o.d);
  }
  mul(o: Fraction): Fraction {
    return new Fraction(this.n * o.n, this.d * o.d);
  }
  div(o: Fraction): Fraction {
    if (o.n === 0n) throw new MathError('division by zero');
    return new Fraction(this.n * o.d, this.d * o.n);
  }
  neg(): Fraction {
    return new Fraction(-this.n, this.d);
  }
  pow(e: number): Fraction {
    let r = Fraction.one;
    for (let i = 0; i < Math.abs(e); i++) r = r.mul(this);
    return e < 0 ? Fraction.one.div(r) : r;
  }
  isZero(): boolean {
    return this.n === 0n;
  }
  isInteger(): boolean {
    return this.d === 1n;
  }
  equals(o: Fraction): boolean {
    return this.n === o.n && this.d === o.d;
  }
  sign(): number {
    return this.n === 0n ? 0 : this.n > 0n ? 1 : -1;
  }
  toNumber(): number {
    return Number(this.n) / Number(this.d);
  }
  /** "5", "-1/2"; with a decimal approximation when asked and not an integer. */
  toString(): string {
    return this.d === 1n ? String(this.n) : `${this.n}/${this.d}`;
  }
  describe(): string {
    return this.isInteger() ? this.toString() : `${this.toString()} (about ${round4(this.toNumber())})`;
  }
}

const round4 = (x: number): number => Math.round(x * 10_000) / 10_000;

/** An exact square root of a non-negative fraction, if it is a perfect square. */
export function exactSqrt(f: Fraction): Fraction | undefined {
  if (f.n < 0n) return undefined;
  const root = (v: bigint): bigint | undefined => {
    if (v < 2n) return v;
    let x = BigInt(Math.floor(Math.sqrt(Number(v))));
    while (x * x > v) x--;
    while ((x + 1n) * (x + 1n) <= v) x++;
    return x * x === v ? x : undefined;
  };
  const n = root(f.n);
  const d = root(f.d);
  return n === undefined || d === undefined ? undefined : new Fraction(n, d);
}

/** A polynomial in one variable: coefficient of x^i at index i. */
export class Poly {
  readonly c: readonly Fraction[];
  constructor(c: readonly Fraction[]) {
    const trimmed = [...c];
    while (trimmed.length > 1 && trimmed[trimmed.length - 1]!.isZero()) trimmed.pop();
    this.c = trimmed.length ? trimmed : [Fraction.zero];
  }
  static constant(f: Fraction): Poly {
    return new Poly([f]);
  }
  static readonly x = new Poly([Fraction.zero, Fraction.one]);
  get degree(): number {
    return this.c.length === 1 && this.c[0]!.isZero() ? 0 : this.c.length - 1;
  }
  coef(i: number): Fraction {
    return this.c[i] ?? Fraction.zero;
  }
  add(o: Poly): Poly {
    const len = Math.max(this.c.length, o.c.length);
    return new Poly(Array.from({ length: len }, (_, i) => this.coef(i).add(o.coef(i))));
  }
  sub(o: Poly): Poly {
    return this.add(o.neg());
  }
  neg(): Poly {
    return new Poly(this.c.map((f) => f.neg()));
  }
  mul(o: Poly): Poly {
    const out = Array.from({ length: this.c.length + o.c.length - 1 }, () => Fraction.zero);
    this.c.forEach((a, i) => o.c.forEach((b, j) => (out[i + j] = out[i + j]!.add(a.mul(b)))));
    return new Poly(out);
  }
  at(x: Fraction): Fraction {
    return this.c.reduceRight((acc, k) => acc.mul(x).add(k), Fraction.zero);
  }
  antiderivative(): Poly {
    return new Poly([Fraction.zero, ...this.c.map((k, i) => k.div(new Fraction(BigInt(i + 1))))]);
  }
  /** Readable form, highest power first: "3x^2 - x + 1/2". */
  format(v = 'x'): string {
    const terms: string[] = [];
    for (let i = this.c.length - 1; i >= 0; i--) {
      const k = this.c[i]!;
      if (k.isZero() && !(i === 0 && terms.length === 0)) continue;
      const abs = k.sign() < 0 ? k.neg() : k;
      const mag =
        i > 0 && abs.equals(Fraction.one) ? '' : abs.isInteger() || i === 0 ? abs.toString() : `(${abs})`;
      const body = i === 0 ? mag : `${mag}${v}${i > 1 ? `^${i}` : ''}`;
      terms.push(
        terms.length === 0 ? `${k.sign() < 0 ? '-' : ''}${body}` : `${k.sign() < 0 ? '-' : '+'} ${body}`,
      );
    }
    return terms.join(' ');
  }
}

type Token = { kind: 'num'; value: Fraction } | { kind: 'var'; name: string } | { kind: 'op'; op: string };

const OPS = '+-*/^()';

/** Splits an expression into tokens; accepts x, ×, ÷ and implicit multiplication ("3x", "2(x+1)"). */
export function lex(text: string): Token[] {
  const src = text.replace(/[×·]/g, '*').replace(/÷/g, '/').replace(/[−–]/g, '-').replace(/\*\*/g, '^');
  const tokens: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const ch = src[i]!;
    if (/\s/.test(ch)) {
      i++;
      continue;
    }
    const numMatch = /^\d+(?:\.\d+)?/.exec(src.slice(i));
    let next: Token;
    if (numMatch) {
      next = { kind: 'num', value: Fraction.of(numMatch[0]) };
      i += numMatch[0].length;
    } else if (/[a-z]/i.test(ch)) {
      next = { kind: 'var', name: ch.toLowerCase() };
      i++;
    } else if (OPS.includes(ch)) {
      next = { kind: 'op', op: ch };
      i++;
    } else throw new MathError(`unexpected character "${ch}"`);
    const prev = tokens[tokens.length - 1];
    const prevEnds = prev && (prev.kind !== 'op' || prev.op === ')');
    const nextStarts = next.kind !== 'op' || next.op === '(';
    if (prevEnds && nextStarts) tokens.push({ kind: 'op', op: '*' });
    tokens.push(next);
  }
  return tokens;
}

/** A parsed expression: numbers, the variable, and binary/unary operations. */
export type Expr =
  | { type: 'num'; value: Fraction }
  | { type: 'var'; name: string }
  | { type: 'neg'; arg: Expr }
  | { type: 'bin'; op: string; left: Expr; right: Expr };

/** Recursive-descent parser: + - (left), * / (left), unary -, ^ (right), parentheses. */
export function parse(text: string): Expr {
  const tokens = lex(text);
  let pos = 0;
  const peek = (): Token | undefined => tokens[pos];
  const isOp = (op: string): boolean => {
    const t = peek();
    return t?.kind === 'op' && t.op === op;
  };
  const expression = (): Expr => {
    let left = term();
    while (isOp('+') || isOp('-')) {
      const op = (tokens[pos++] as { op: string }).op;
      left = { type: 'bin', op, left, right: term() };
    }
    return left;
  };
  const term = (): Expr => {
    let left = unary();
    while (isOp('*') || isOp('/')) {
      const op = (tokens[pos++] as { op: string }).op;
      left = { type: 'bin', op, left, right: unary() };
    }
    return left;
  };
  const unary = (): Expr => {
    if (isOp('-')) {
      pos++;
      return { type: 'neg', arg: unary() };
    }
    if (isOp('+')) {
      pos++;
      return unary();
    }
    return power();
  };
  const power = (): Expr => {
    const base = primary();
    if (isOp('^')) {
      pos++;
      return { type: 'bin', op: '^', left: base, right: unary() };
    }
    return base;
  };
  const primary = (): Expr => {
    const t = tokens[pos++];
    if (!t) throw new MathError('the expression ends too early');
    if (t.kind === 'num') return { type: 'num', value: t.value };
    if (t.kind === 'var') return { type: 'var', name: t.name };
    if (t.op === '(') {
      const inner = expression();
      if (!isOp(')')) throw new MathError('a closing parenthesis is missing');
      pos++;
      return inner;
    }
    throw new MathError(`unexpected "${t.op}"`);
  };
  const result = expression();
  if (pos < tokens.length) throw new MathError('unexpected text after the expression');
  return result;
}

/** Prints an expression with the parentheses its structure needs. */
export function show(e: Expr): string {
  const prec = (x: Expr): number =>
    x.type === 'bin' ? ({ '+': 1, '-': 1, '*': 2, '/': 2, '^': 3 } as Record<string, number>)[x.op]! : 4;
  switch (e.type) {
    case 'num':
      return e.value.sign() < 0 ? `(${e.value})` : e.value.toString();
    case 'var':
      return e.name;
    case 'neg':
      return `-${prec(e.arg) < 4 ? `(${show(e.arg)})` : show(e.arg)}`;
    case 'bin': {
      const p = prec(e);
      const l = prec(e.left) < p ? `(${show(e.left)})` : show(e.left);
      const rightNeedsParens = prec(e.right) < p || (prec(e.right) === p && (e.op === '-' || e.op === '/'));
      const r = rightNeedsParens ? `(${show(e.right)})` : show(e.right);
      return `${l} ${e.op} ${r}`;
    }
  }
}

/** Evaluates a variable-free expression exactly, recording each operation in the order it is done. */
export function evaluate(e: Expr, steps: string[] = []): Fraction {
  switch (e.type) {
    case 'num':
      return e.value;
    case 'var':
      throw new MathError(`"${e.name}" is a variable; this needs an equation, not an expression`);
    case 'neg':
      return evaluate(e.arg, steps).neg();
    case 'bin': {
      const a = evaluate(e.left, steps);
      const b = evaluate(e.right, steps);
      let r: Fraction;
      if (e.op === '+') r = a.add(b);
      else if (e.op === '-') r = a.sub(b);
      else if (e.op === '*') r = a.mul(b);
      else if (e.op === '/') r = a.div(b);
      else {
        if (!b.isInteger() || babs(b.n) > 64n)
          throw new MathError('only whole-number powers up to 64 are supported');
        r = a.pow(Number(b.n));
      }
      const sym = e.op === '*' ? '×' : e.op === '/' ? '÷' : e.op;
      steps.push(`${a.sign() < 0 ? `(${a})` : a} ${sym} ${b.sign() < 0 ? `(${b})` : b} = ${r}`);
      return r;
    }
  }
}

/** Turns an expression in one variable into a polynomial (division only by constants). */
export function toPoly(e: Expr, variable?: string): Poly {
  switch (e.type) {
    case 'num':
      return Poly.constant(e.value);
    case 'var':
      if (variable && e.name !== variable) throw new MathError(`two variables (${variable} and ${e.name})`);
      return Poly.x;
    case 'neg':
      return toPoly(e.arg, variable).neg();
    case 'bin': {
      const a = toPoly(e.left, variable);
      const b = toPoly(e.right, variable);
      if (e.op === '+') return a.add(b);
      if (e.op === '-') return a.sub(b);
      if (e.op === '*') return a.mul(b);
      if (e.op === '/') {
        if (b.degree > 0) throw new MathError('dividing by an expression with the variable is not supported');
        return a.mul(Poly.constant(Fraction.one.div(b.coef(0))));
      }
      if (b.degree > 0 || !b.coef(0).isInteger() || b.coef(0).sign() < 0 || b.coef(0).n > 8n)
        throw new MathError('powers must be whole numbers from 0 to 8');
      let r = Poly.constant(Fraction.one);
      for (let i = 0n; i < b.coef(0).n; i++) r = r.mul(a);
      return r;
    }
  }
}

/** The variable an expression uses (x if several letters appear only as x). */
export function variableOf(e: Expr): string | undefined {
  switch (e.type) {
    case 'num':
      return undefined;
    case 'var':
      return e.name;
    case 'neg':
      return variableOf(e.arg);
    case 'bin':
      return variableOf(e.left) ?? variableOf(e.right);
  }
}

export interface Solution {
  kind: 'linear' | 'quadratic' | 'identity' | 'contradiction';
  variable: string;
  roots: Fraction[];
  /** Roots that are not rational: exact form and decimal value. */
  irrational: { exact: string; approx: number }[];
  steps: string[];
  check: string[];
}

/** Solves an equation in one variable of degree 1 or 2, showing each step (ax + b = cx + d form for linear). */
export function solveEquation(text: string): Solution {
  const sides = text.split('=');
  if (sides.length !== 2 || !sides[0]!.trim() || !sides[1]!.trim())
    throw new MathError('an equation needs exactly one "=" with an expression on each side');
  const left = parse(sides[0]!);
  const right = parse(sides[1]!);
  const variable = variableOf(left) ?? variableOf(right) ?? 'x';
  const l = toPoly(left, variable);
  const r = toPoly(right, variable);
  const p = l.sub(r);
  const steps = [`Simplify each side: ${l.format(variable)} = ${r.format(variable)}`];
  const fmtPoly = (q: Poly) => q.format(variable);
  if (p.degree === 0) {
    const ok = p.coef(0).isZero();
    steps.push(
      `The ${variable} terms cancel, leaving ${p.coef(0)} = 0, which is ${ok ? 'always' : 'never'} true`,
    );
    return { kind: ok ? 'identity' : 'contradiction', variable, roots: [], irrational: [], steps, check: [] };
  }
  if (p.degree === 1) {
    const [a, b, c, d] = [l.coef(1), l.coef(0), r.coef(1), r.coef(0)];
    const k = a.sub(c);
    const rhs = d.sub(b);
    if (!c.isZero())
      steps.push(`Subtract ${c}${variable} from both sides: ${fmtPoly(new Poly([b, k]))} = ${d}`);
    if (!b.isZero())
      steps.push(
        `${b.sign() > 0 ? `Subtract ${b}` : `Add ${b.neg()}`} on both sides: ${fmtPoly(new Poly([Fraction.zero, k]))} = ${rhs}`,
      );
    const root = rhs.div(k);
    if (!k.equals(Fraction.one))
      steps.push(`Divide both sides by ${k}: ${variable} = ${rhs} ÷ ${k} = ${root}`);
    else steps.push(`So ${variable} = ${root}`);
    const check = [
      `Left side: ${l.at(root)}`,
      `Right side: ${r.at(root)}`,
      l.at(root).equals(r.at(root)) ? 'Both sides agree' : 'Sides differ',
    ];
    return { kind: 'linear', variable, roots: [root], irrational: [], steps, check };
  }
  if (p.degree === 2) {
    const [c, b, a] = [p.coef(0), p.coef(1), p.coef(2)];
    steps.push(`Bring everything to one side: ${fmtPoly(p)} = 0 (a = ${a}, b = ${b}, c = ${c})`);
    const disc = b.mul(b).sub(new Fraction(4n).mul(a).mul(c));
    steps.push(`Discriminant b^2 - 4ac = ${disc}`);
    if (disc.sign() < 0) {
      steps.push('The discriminant is negative, so there are no real roots');
      const re = b.neg().div(new Fraction(2n).mul(a));
      const im = Math.sqrt(-disc.toNumber()) / Math.abs(2 * a.toNumber());
      return {
        kind: 'quadratic',
        variable,
        roots: [],
        irrational: [{ exact: `${re} ± ${round4(im)}i`, approx: re.toNumber() }],
        steps,
        check: [],
      };
    }
    const root = exactSqrt(disc);
    const two_a = new Fraction(2n).mul(a);
    if (root) {
      const roots = [b.neg().sub(root).div(two_a), b.neg().add(root).div(two_a)]
        .filter((v, i, all) => all.findIndex((w) => w.equals(v)) === i)
        .sort((u, v) => u.sub(v).sign());
      steps.push(`√${disc} = ${root}, so ${variable} = (${b.neg()} ± ${root}) / ${two_a}`);
      steps.push(`${variable} = ${roots.map(String).join(' or ')}`);
      const check = roots.map((v) => `${variable} = ${v}: ${fmtPoly(p)} = ${p.at(v)}`);
      return { kind: 'quadratic', variable, roots, irrational: [], steps, check };
    }
    const s = Math.sqrt(disc.toNumber());
    const irrational = [-1, 1].map((sg) => ({
      exact: `(${b.neg()} ${sg < 0 ? '-' : '+'} √(${disc})) / ${two_a}`,
      approx: round4((-b.toNumber() + sg * s) / two_a.toNumber()),
    }));
    steps.push(`√${disc} is not rational, so the roots are (${b.neg()} ± √(${disc})) / ${two_a}`);
    return { kind: 'quadratic', variable, roots: [], irrational, steps, check: [] };
  }
  throw new MathError('only equations of degree 1 or 2 are solved step by step');
}

/** The exact area enclosed between two curves y = f(x) and y = g(x) that cross at two rational points. */
export function areaBetween(
  f: string,
  g: string,
): { from: Fraction; to: Fraction; area: Fraction; steps: string[] } {
  const pf = toPoly(parse(f), 'x');
  const pg = toPoly(parse(g), 'x');
  const h = pf.sub(pg);
  const sol = solveEquation(`${h.format()} = 0`);
  if (sol.roots.length < 2)
    throw new MathError('the curves must cross at two rational points for an exact enclosed area');
  const [from, to] = [sol.roots[0]!, sol.roots[sol.roots.length - 1]!];
  const H = h.antiderivative();
  const signed = H.at(to).sub(H.at(from));
  const area = signed.sign() < 0 ? signed.neg() : signed;
  const steps = [
    `Intersections: ${f} = ${g} gives ${h.format()} = 0, so x = ${from} and x = ${to}`,
    `Integrate the difference: ∫ (${h.format()}) dx = ${H.format()}`,
    `Evaluate from ${from} to ${to}: ${H.at(to)} - (${H.at(from)}) = ${signed}`,
    `Area = |${signed}| = ${area}`,
  ];
  return { from, to, area, steps };
}
