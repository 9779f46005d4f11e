"""GitHub Actions expressions, evaluated: what a job's `if:` decides for a given event.

Hand-written because the one maintained evaluator, GitHub's `@actions/expressions`, is an npm
package and the suite runs on Python alone. It covers the part of the language the workflows
use, with GitHub's semantics: literals, context paths (`github.event.action`, the `.*` object
filter), `!`, `==`/`!=` (strings compared case-insensitively), `&&`/`||` (which return an
operand, not a bool), parentheses and the functions `contains`, `startsWith`, `endsWith`,
`fromJSON`. Anything else is a SyntaxError, so a workflow that needs more fails loudly here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any

_TOKEN = re.compile(
    r"\s*(?:(?P<string>'(?:[^']|'')*')|(?P<number>-?\d+(?:\.\d+)?)"
    r"|(?P<op>&&|\|\||==|!=|!|\(|\)|,|\.\*|\.)|(?P<name>[A-Za-z_][A-Za-z0-9_-]*))"
)


def _tokens(text: str) -> list[tuple[str, str]]:
    tokens, position = [], 0
    text = text.strip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if not match or match.end() == position:
            raise SyntaxError(f"cannot read {text[position:]!r} in {text!r}")
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
        position = match.end()
    return tokens


def _loose(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def _truthy(value: Any) -> bool:
    return value not in (None, False, 0, "", -0.0)


def _contains(haystack: Any, needle: Any) -> bool:
    if isinstance(haystack, list):
        return any(_loose(item) == _loose(needle) for item in haystack)
    return str(_loose(needle)) in str(_loose(haystack))


FUNCTIONS: Mapping[str, Callable[..., Any]] = {
    "contains": _contains,
    "startswith": lambda a, b: str(_loose(a)).startswith(str(_loose(b))),
    "endswith": lambda a, b: str(_loose(a)).endswith(str(_loose(b))),
    "fromjson": lambda text: json.loads(text),
}


class _Parser:
    def __init__(self, text: str, contexts: Mapping[str, Any]) -> None:
        self.tokens = _tokens(text)
        self.at = 0
        self.contexts = contexts
        self.text = text

    def peek(self) -> str | None:
        return self.tokens[self.at][1] if self.at < len(self.tokens) else None

    def take(self, expected: str | None = None) -> tuple[str, str]:
        if self.at >= len(self.tokens):
            raise SyntaxError(f"unexpected end of {self.text!r}")
        token = self.tokens[self.at]
        if expected is not None and token[1] != expected:
            raise SyntaxError(f"expected {expected!r}, got {token[1]!r} in {self.text!r}")
        self.at += 1
        return token

    def _chain(
        self, operator: str, operand: Callable[[], Any], pick: Callable[[Any, Any], Any]
    ) -> Any:
        """`operand (operator operand)*`, folded left with `pick(left, right)`."""
        value = operand()
        while self.peek() == operator:
            self.take()
            value = pick(value, operand())
        return value

    def expression(self) -> Any:
        # `a || b` is a when a is truthy, else b (a value, not a bool).
        return self._chain("||", self.conjunction, lambda a, b: a if _truthy(a) else b)

    def conjunction(self) -> Any:
        return self._chain("&&", self.comparison, lambda a, b: b if _truthy(a) else a)

    def comparison(self) -> Any:
        value = self.unary()
        while self.peek() in ("==", "!="):
            operator = self.take()[1]
            same = _loose(value) == _loose(self.unary())
            value = same if operator == "==" else not same
        return value

    def unary(self) -> Any:
        if self.peek() == "!":
            self.take()
            return not _truthy(self.unary())
        return self.primary()

    def primary(self) -> Any:
        kind, text = self.take()
        if text == "(":
            value = self.expression()
            self.take(")")
            return value
        if kind == "string":
            return text[1:-1].replace("''", "'")
        if kind == "number":
            return float(text)
        if kind != "name":
            raise SyntaxError(f"unexpected {text!r} in {self.text!r}")
        if text in ("true", "false", "null"):
            return {"true": True, "false": False, "null": None}[text]
        if self.peek() == "(":
            return self.call(text)
        if text not in self.contexts:
            raise SyntaxError(f"unknown context {text!r} in {self.text!r}")
        return self.path(self.contexts[text])

    def call(self, name: str) -> Any:
        function = FUNCTIONS.get(name.lower())
        if function is None:
            raise SyntaxError(f"function {name} is not modelled ({self.text!r})")
        self.take("(")
        arguments = [self.expression()]
        while self.peek() == ",":
            self.take()
            arguments.append(self.expression())
        self.take(")")
        return function(*arguments)

    def path(self, value: Any) -> Any:
        while self.peek() in (".", ".*"):
            if self.take()[1] == ".*":
                value = list(value.values()) if isinstance(value, dict) else list(value or [])
                continue
            key = self.take()[1]
            if isinstance(value, list):  # after `.*`: the key of every element
                value = [item.get(key) if isinstance(item, dict) else None for item in value]
            else:
                value = value.get(key) if isinstance(value, dict) else None
        return value


def evaluate(text: str, contexts: Mapping[str, Any]) -> Any:
    """The value of `text` (with or without `${{ }}`) given the contexts (`github`, ...)."""
    text = text.strip()
    if text.startswith("${{") and text.endswith("}}"):
        text = text[3:-2]
    parser = _Parser(text, contexts)
    value = parser.expression()
    if parser.at != len(parser.tokens):
        raise SyntaxError(f"unexpected {parser.peek()!r} in {text!r}")
    return value


def runs(condition: str | None, contexts: Mapping[str, Any]) -> bool:
    """Whether a job with this `if:` runs (no `if:` runs, as GitHub's `success()` default)."""
    return condition is None or _truthy(evaluate(condition, contexts))
