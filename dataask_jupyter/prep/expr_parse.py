"""Tokenizer and parser of the calculated-field language (no ``eval``, no Python AST).

The language is a small SQL-like expression grammar::

    expr       := or
    or         := and ("or" and)*
    and        := not ("and" not)*
    not        := "not" not | comparison
    comparison := additive [ ("=" | "==" | "!=" | "<>" | "<" | "<=" | ">" | ">=") additive
                            | "is" ["not"] "null" | ["not"] "in" "(" expr ("," expr)* ")" ]
    additive   := term (("+" | "-" | "||") term)*
    term       := unary (("*" | "/" | "%") unary)*
    unary      := ("-" | "+") unary | primary
    primary    := number | 'text' | "text" | true | false | null | column | name "(" args ")"
                | "(" expr ")" | "case" ("when" expr "then" expr)+ ["else" expr] "end"
    column     := name | [any text] | `any text`

There is no attribute access, subscript, lambda, assignment or statement; function names
come from an allow-list checked by the compiler. Size, token count and nesting depth are
bounded, and every error names the position.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .errors import FlowError

MAX_CHARS = 5000
MAX_TOKENS = 1000
MAX_DEPTH = 40  # parenthesis / call / unary nesting while parsing
MAX_TREE_DEPTH = 120  # depth of the finished tree (long a + b + c + ... chains)

KEYWORDS = frozenset({"and", "or", "not", "true", "false", "null", "is", "in", "case", "when", "then", "else", "end"})
#: Python (and SQL) statement words that have no meaning here: refused with a clear message.
FORBIDDEN_WORDS = frozenset({
    "lambda", "import", "from", "def", "class", "exec", "eval", "global", "nonlocal", "yield", "await",
    "async", "del", "with", "as", "return", "pass", "raise", "try", "except", "finally", "assert", "while",
    "for", "select", "insert", "update", "delete", "drop", "create", "alter",
})

_TOKEN_RE = re.compile(r"""
    (?P<ws>\s+)
  | (?P<number>(?:\d+\.\d*|\.\d+|\d+)(?:[eE][+-]?\d+)?)
  | (?P<string>'(?:[^']|'')*'|"(?:[^"]|"")*")
  | (?P<bracket>\[[^\[\]]*\]|`[^`]*`)
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op>\|\||==|!=|<>|<=|>=|[-+*/%=<>(),])
""", re.VERBOSE)


@dataclass(frozen=True)
class Token:
    kind: str  # number, string, column, name, op, eof
    text: str
    pos: int
    value: Any = None


# -- AST ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Node:
    pos: int


@dataclass(frozen=True)
class Lit(Node):
    value: Any  # int, float, str, bool or None


@dataclass(frozen=True)
class Col(Node):
    name: str
    bracketed: bool = False


@dataclass(frozen=True)
class Unary(Node):
    op: str  # "-", "not"
    operand: Node


@dataclass(frozen=True)
class Binary(Node):
    op: str  # + - * / % || = != < <= > >= and or
    left: Node
    right: Node


@dataclass(frozen=True)
class Call(Node):
    name: str  # lower case
    args: tuple[Node, ...]


@dataclass(frozen=True)
class IsNull(Node):
    operand: Node
    negated: bool


@dataclass(frozen=True)
class InList(Node):
    operand: Node
    items: tuple[Node, ...]
    negated: bool


@dataclass(frozen=True)
class Case(Node):
    whens: tuple[tuple[Node, Node], ...]
    default: Node | None


def expression_error(text: str, pos: int, message: str) -> FlowError:
    """A :class:`FlowError` pointing at ``pos`` in ``text`` (the compiler adds the step id)."""
    snippet = text if len(text) <= 60 else text[max(0, pos - 25): pos + 25]
    return FlowError(f"{message} (at position {pos + 1} of the expression)", hint=f"Expression: {snippet}")


def tokenize(text: str) -> list[Token]:
    """Split ``text`` into tokens; refuses anything outside the grammar."""
    if len(text) > MAX_CHARS:
        raise FlowError(f"The expression is too long ({len(text)} characters; the limit is {MAX_CHARS}).")
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN_RE.match(text, pos)
        if m is None:
            ch = text[pos]
            if ch == ".":
                raise expression_error(text, pos, "Attribute access ('.') is not allowed; use functions such as upper(x)")
            if ch in "[`'\"":
                raise expression_error(text, pos, f"Unclosed {ch}")
            if ch == ":":
                raise expression_error(text, pos, "':' is not allowed (no lambdas, slices or dicts)")
            raise expression_error(text, pos, f"Unexpected character {ch!r}")
        kind = m.lastgroup
        raw = m.group()
        if kind == "number":
            value: Any = float(raw) if any(c in raw for c in ".eE") else int(raw)
            tokens.append(Token("number", raw, pos, value))
        elif kind == "string":
            q = raw[0]
            tokens.append(Token("string", raw, pos, raw[1:-1].replace(q + q, q)))
        elif kind == "bracket":
            name = raw[1:-1].strip()
            if not name:
                raise expression_error(text, pos, "Empty column name")
            tokens.append(Token("column", raw, pos, name))
        elif kind == "name":
            if raw.startswith("__"):
                raise expression_error(text, pos, f"Names starting with '__' are not allowed ('{raw}')")
            low = raw.lower()
            if low in FORBIDDEN_WORDS:
                raise expression_error(text, pos, f"'{raw}' is not allowed in an expression")
            tokens.append(Token("keyword" if low in KEYWORDS else "name", raw, pos, low if low in KEYWORDS else raw))
        elif kind == "op":
            tokens.append(Token("op", raw, pos, raw))
        pos = m.end()
        if len(tokens) > MAX_TOKENS:
            raise FlowError(f"The expression is too long (more than {MAX_TOKENS} tokens).")
    tokens.append(Token("eof", "", len(text)))
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0
        self.depth = 0

    # -- helpers ----------------------------------------------------------------------------
    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def advance(self) -> Token:
        t = self.tokens[self.i]
        self.i += 1
        return t

    def at(self, kind: str, *values: str) -> bool:
        t = self.tok
        return t.kind == kind and (not values or t.value in values)

    def expect(self, kind: str, value: str, what: str) -> Token:
        if not self.at(kind, value):
            raise self.error(f"Expected {what}")
        return self.advance()

    def error(self, message: str, tok: Token | None = None) -> FlowError:
        tok = tok or self.tok
        found = "the end" if tok.kind == "eof" else f"'{tok.text}'"
        return expression_error(self.text, tok.pos, f"{message}, found {found}")

    def enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise FlowError(f"The expression is nested too deeply (more than {MAX_DEPTH} levels).")

    # -- grammar ----------------------------------------------------------------------------
    def parse(self) -> Node:
        if self.at("eof"):
            raise FlowError("The expression is empty.")
        node = self.expr()
        if not self.at("eof"):
            if self.at("column"):
                raise expression_error(self.text, self.tok.pos, "Subscripts (x[...]) are not allowed")
            if self.at("op", "("):
                raise expression_error(self.text, self.tok.pos, "Only function names can be called")
            raise self.error("Expected an operator or the end of the expression")
        return node

    def expr(self) -> Node:
        self.enter()
        try:
            return self.binary_chain(("or",), self.and_)
        finally:
            self.depth -= 1

    def and_(self) -> Node:
        return self.binary_chain(("and",), self.not_)

    def binary_chain(self, ops: tuple[str, ...], sub) -> Node:
        left = sub()
        while self.at("keyword", *ops):
            op = self.advance()
            left = Binary(op.pos, op.value, left, sub())
        return left

    def not_(self) -> Node:
        if self.at("keyword", "not"):
            t = self.advance()
            self.enter()
            try:
                return Unary(t.pos, "not", self.not_())
            finally:
                self.depth -= 1
        return self.comparison()

    def comparison(self) -> Node:
        left = self.additive()
        if self.at("op", "=", "==", "!=", "<>", "<", "<=", ">", ">="):
            t = self.advance()
            op = {"==": "=", "<>": "!="}.get(t.value, t.value)
            node: Node = Binary(t.pos, op, left, self.additive())
        elif self.at("keyword", "is"):
            t = self.advance()
            negated = bool(self.at("keyword", "not") and self.advance())
            self.expect("keyword", "null", "'null' after 'is'")
            node = IsNull(t.pos, left, negated)
        elif self.at("keyword", "in") or (self.at("keyword", "not") and self.tokens[self.i + 1].value == "in"):
            t = self.tok
            negated = self.advance().value == "not"
            if negated:
                self.advance()
            self.expect("op", "(", "'(' after 'in'")
            items = [self.expr()]
            while self.at("op", ","):
                self.advance()
                items.append(self.expr())
            self.expect("op", ")", "')' to close the 'in' list")
            node = InList(t.pos, left, tuple(items), negated)
        else:
            return left
        if self.at("op", "=", "==", "!=", "<>", "<", "<=", ">", ">="):
            raise self.error("Comparisons cannot be chained (write a < b and b < c)")
        return node

    def additive(self) -> Node:
        left = self.term()
        while self.at("op", "+", "-", "||"):
            t = self.advance()
            left = Binary(t.pos, t.value, left, self.term())
        return left

    def term(self) -> Node:
        left = self.unary()
        while self.at("op", "*", "/", "%"):
            t = self.advance()
            left = Binary(t.pos, t.value, left, self.unary())
        return left

    def unary(self) -> Node:
        if self.at("op", "-", "+"):
            t = self.advance()
            self.enter()
            try:
                operand = self.unary()
            finally:
                self.depth -= 1
            if t.value == "+":
                return operand
            if isinstance(operand, Lit) and isinstance(operand.value, int | float) and not isinstance(operand.value, bool):
                return Lit(t.pos, -operand.value)
            return Unary(t.pos, "-", operand)
        return self.primary()

    def primary(self) -> Node:
        t = self.tok
        if t.kind in ("number", "string"):
            self.advance()
            return Lit(t.pos, t.value)
        if t.kind == "keyword" and t.value in ("true", "false", "null"):
            self.advance()
            return Lit(t.pos, {"true": True, "false": False, "null": None}[t.value])
        if t.kind == "keyword" and t.value == "case":
            return self.case()
        if t.kind == "column":
            self.advance()
            return Col(t.pos, t.value, bracketed=True)
        if t.kind == "name":
            self.advance()
            if self.at("op", "("):
                return self.call(t)
            return Col(t.pos, t.value)
        if t.kind == "op" and t.value == "(":
            self.advance()
            node = self.expr()
            self.expect("op", ")", "')'")
            return node
        raise self.error("Expected a value, column or function")

    def call(self, name: Token) -> Node:
        self.advance()  # (
        args: list[Node] = []
        if not self.at("op", ")"):
            args.append(self.expr())
            while self.at("op", ","):
                self.advance()
                args.append(self.expr())
        self.expect("op", ")", f"')' to close {name.text}(")
        return Call(name.pos, name.text.lower(), tuple(args))

    def case(self) -> Node:
        start = self.advance()
        whens = []
        while self.at("keyword", "when"):
            self.advance()
            cond = self.expr()
            self.expect("keyword", "then", "'then'")
            whens.append((cond, self.expr()))
        if not whens:
            raise self.error("Expected 'when' after 'case'")
        default = None
        if self.at("keyword", "else"):
            self.advance()
            default = self.expr()
        self.expect("keyword", "end", "'end' to close 'case'")
        return Case(start.pos, tuple(whens), default)


def parse_expression(text: str) -> Node:
    """Parse a calculated-field expression into an AST (nothing is evaluated).

    Raises
    ------
    FlowError
        On any syntax the language does not have, with the position.
    """
    if not isinstance(text, str):
        raise FlowError("The expression must be text.")
    node = _Parser(text).parse()
    if tree_depth(node) > MAX_TREE_DEPTH:
        raise FlowError(f"The expression is nested too deeply (more than {MAX_TREE_DEPTH} levels); split it "
                        "into several calculated fields.")
    return node


def children(n: Node) -> tuple[Node, ...]:
    """The direct sub-expressions of ``n``."""
    if isinstance(n, Unary | IsNull):
        return (n.operand,)
    if isinstance(n, Binary):
        return (n.left, n.right)
    if isinstance(n, Call):
        return n.args
    if isinstance(n, InList):
        return (n.operand, *n.items)
    if isinstance(n, Case):
        flat = tuple(x for pair in n.whens for x in pair)
        return flat + ((n.default,) if n.default is not None else ())
    return ()


def tree_depth(node: Node) -> int:
    """Depth of the tree, computed without recursion."""
    deepest, stack = 0, [(node, 1)]
    while stack:
        n, d = stack.pop()
        deepest = max(deepest, d)
        stack.extend((c, d + 1) for c in children(n))
    return deepest


def columns_used(node: Node) -> list[str]:
    """Column names an expression reads, in order of first use."""
    out: list[str] = []
    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, Col) and n.name not in out:
            out.append(n.name)
        stack.extend(reversed(children(n)))
    return out
