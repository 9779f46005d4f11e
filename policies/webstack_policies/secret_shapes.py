"""What a secret looks like, by an environment variable's name and by its value.

Pure and stdlib-only on purpose: the policy pack judges plain environment variables and SSM
parameters with it, and the program's config can import the same file to refuse secret-looking
values before anything is registered, so both say "secret" about the same things.

Public API:
- `SECRET_NAME_PATTERN`, `name_says_secret(name)`: names that say they hold a secret
  (`JWT_SECRET`, `DB_PASSWORD`, `DATABASE_URL`), whatever the value.
- `credential_in(value)`: a known credential inside the value, whatever the name: token shapes
  (Stripe, GitHub, Slack, AWS access keys, JWTs, PEM private keys, ...) or a password embedded in
  a URL or a `password=` connection string. Returns what was found, or None.
- `value_problem(name, value)`: `credential_in`, plus what the name makes suspicious: a random-
  looking value (or word of it, or `key=value` / JSON member named so) under a name containing
  PASS, PWD, TOKEN, SECRET, KEY, SIGN, CRED or AUTH, and an `*_ARN` name whose value is not an
  ARN. Returns the reason, or None.
- `is_arn(value)`, `looks_random(value)`, `entropy_bits(value)`, `is_placeholder(value)`: the
  building blocks, for rules that judge a value on its own.

Hand-written rather than a secret-scanning library (detect-secrets, trufflehog) because those
are not stdlib and scan files, not one name=value pair.
"""

from __future__ import annotations

import base64
import binascii
import itertools
import json
import math
import re
from collections import Counter
from collections.abc import Iterator
from urllib.parse import urlsplit

# Env var names that say they hold a secret. The program's config judges api.environment with
# this same file (components/config/secret_detector.py loads it by path).
SECRET_NAME_PATTERN = (
    r"(SECRETS?|PASSWORDS?|PASSWD|TOKENS?|KEYS?|DSN|CREDENTIALS?)$|^(DATABASE_URL|REDIS_URL)$"
)
_SECRET_NAME = re.compile(SECRET_NAME_PATTERN, re.IGNORECASE)
# Words that make a random-looking value suspicious (DB_PASS, SESSION_SIGNING, API_TOKEN_1).
_SECRET_WORD = re.compile(r"PASS|PWD|TOKEN|SECRET|KEY|SIGN|CRED|AUTH", re.IGNORECASE)
# Names of identifiers, whose random-looking values (a KMS key id, a public OAuth client id)
# are not secrets; a credential inside them is still caught by its shape.
_IDENTIFIER_NAME = re.compile(r"_IDS?$", re.IGNORECASE)

_NOT_TOKEN = r"(?<![A-Za-z0-9_-])"  # a token starts at a boundary, not inside a longer word
TOKEN_SHAPES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("a Stripe secret or restricted key", re.compile(_NOT_TOKEN + r"[rs]k_(live|test)_[\w-]{10,}")),
    ("a GitHub token", re.compile(_NOT_TOKEN + r"(gh[pousr]_|github_pat_)[\w-]{16,}")),
    ("a GitLab token", re.compile(_NOT_TOKEN + r"glpat-[\w-]{16,}")),
    ("a Slack token", re.compile(_NOT_TOKEN + r"xox[a-z0-9]-[\w-]{10,}", re.IGNORECASE)),
    ("an AWS access key id", re.compile(r"(?<![A-Z0-9])(AKIA|ASIA)[A-Z0-9]{16}(?![A-Z0-9])")),
    ("a Google API key", re.compile(_NOT_TOKEN + r"AIza[\w-]{30,}")),
    ("an OpenAI or Anthropic API key", re.compile(_NOT_TOKEN + r"sk-(proj|ant)-[\w-]{20,}")),
    ("an npm token", re.compile(_NOT_TOKEN + r"npm_[A-Za-z0-9]{30,}")),
    ("a SendGrid API key", re.compile(_NOT_TOKEN + r"SG\.[\w-]{16,}\.[\w-]{16,}")),
    ("a PEM private key", re.compile(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----")),
)
# Three base64url segments; a JWT's first segment is a JSON object (`eyJ...`).
_JWT = re.compile(
    r"(?<![\w.-])([A-Za-z0-9_-]{8,})\.([A-Za-z0-9_-]{8,})\.([A-Za-z0-9_-]*)(?![\w.-])"
)
_JWT_BARE_SEGMENT = 10  # without a JSON header: three random segments at least this long
# `password=...` in libpq key=value strings (`host=db password=x`), ODBC/JDBC (`Pwd=x;`) and
# query strings (`?password=x`).
_KEY_VALUE_PASSWORD = re.compile(
    r"(?:^|[\s;&?,]|--)(password|passwd|pwd)\s*=\s*(?!['\"]?(?:[\s;&,]|$))", re.IGNORECASE
)
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s,;'\"<>]+")
_ARN = re.compile(r"^arn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:(\d{12}|aws)?:\S+$")
_SEPARATORS = re.compile(r"[-_./:]+")
# Words as CamelCase spells them (`Session`, `SHA`, `256`); identifiers are made of long ones.
_WORD_RUN = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|[0-9]+")
_HEX_TOKEN = re.compile(r"[0-9a-fA-F-]+")
PLACEHOLDERS = re.compile(
    r"^(change[-_ ]?me|password\d*|passw0rd|secret\d*|admin\d*|root|test\d*|example|default|"
    r"letmein|qwerty\d*|12345\d*|todo|xxx+|dummy|placeholder)$",
    re.IGNORECASE,
)

# Thresholds of `looks_random`, tuned on generated tokens (token_urlsafe, token_hex, random
# alphanumerics: under 1% missed at 16 characters, under 0.1% from 32 on) against
# identifiers, host names, ARNs, paths and cipher names (which must not pass). All-lowercase
# and base32 tokens are often missed: they read like words.
MIN_RANDOM_LENGTH = 12
MIN_BITS_PER_CHAR = 3.0
MIN_CLASS_CHANGES = 0.25  # share of neighbouring characters of different kinds (a, A, 1, $)
MAX_MEAN_WORD = 4.0  # CamelCase words longer than this on average read as an identifier


def name_says_secret(name: str, pattern: str = SECRET_NAME_PATTERN) -> bool:
    """Whether an environment variable's name says it holds a secret."""
    regex = _SECRET_NAME if pattern == SECRET_NAME_PATTERN else re.compile(pattern, re.IGNORECASE)
    return bool(regex.search(name))


def is_arn(value: str) -> bool:
    """Whether the value is an ARN (`arn:<partition>:<service>:<region>:<account>:<resource>`)."""
    return bool(_ARN.match(value.strip()))


def entropy_bits(value: str) -> float:
    """Shannon entropy of the value's characters times its length: how much it could hide."""
    if not value:
        return 0.0
    counts = Counter(value)
    per_char = -sum(n / len(value) * math.log2(n / len(value)) for n in counts.values())
    return per_char * len(value)


def is_placeholder(value: str) -> bool:
    """A stand-in anyone would guess (`changeme`, `password1`, `xxxx`)."""
    return bool(PLACEHOLDERS.match(value))


def _kind(char: str) -> str:
    if char.islower():
        return "a"
    if char.isupper():
        return "A"
    return "1" if char.isdigit() else "$"


def _class_changes(value: str) -> float:
    """How often neighbours differ in kind, within separator-delimited segments."""
    changes = pairs = 0
    for segment in _SEPARATORS.split(value):
        pairs += max(len(segment) - 1, 0)
        changes += sum(_kind(a) != _kind(b) for a, b in itertools.pairwise(segment))
    return changes / pairs if pairs else 0.0


def _mean_word(value: str) -> float:
    words = _WORD_RUN.findall(value)
    return sum(map(len, words)) / len(words) if words else 0.0


def looks_random(value: str) -> bool:
    """A value that reads as generated (a token, key or password), not as words or an id.

    Hex (and UUID-shaped) values of 16+ digits mixing digits and letters count; otherwise the
    value needs enough entropy per character, frequent changes between lower case, upper case,
    digits and symbols, and no long CamelCase words. URLs and ARNs never count.
    """
    value = value.strip()
    if len(value) < MIN_RANDOM_LENGTH or re.search(r"\s", value) or "://" in value:
        return False
    if is_arn(value):
        return False
    if _HEX_TOKEN.fullmatch(value):
        digits = value.replace("-", "")
        return len(digits) >= 16 and any(c.isdigit() for c in digits) and not digits.isdigit()
    return (
        entropy_bits(value) / len(value) >= MIN_BITS_PER_CHAR
        and _class_changes(value) >= MIN_CLASS_CHANGES
        and _mean_word(value) < MAX_MEAN_WORD
    )


def _is_jwt(match: re.Match[str]) -> bool:
    header, payload, signature = match.groups()
    try:
        decoded = json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))
    except (binascii.Error, ValueError):
        decoded = None
    if isinstance(decoded, dict):
        return True
    segments = (header, payload, signature)
    # Host names are three dotted labels too, but made of words.
    return all(len(s) >= _JWT_BARE_SEGMENT for s in segments) and looks_random("".join(segments))


def _url_password(value: str) -> bool:
    for url in _URL.findall(value):
        try:
            if urlsplit(url).password:
                return True
        except ValueError:  # a malformed port or host: not a URL we can read
            continue
    return False


def credential_in(value: str) -> str | None:
    """The known credential the value contains, whatever its name ("a GitHub token"), or None."""
    for kind, pattern in TOKEN_SHAPES:
        if pattern.search(value):
            return kind
    if any(_is_jwt(m) for m in _JWT.finditer(value)):
        return "a JWT"
    if _url_password(value):
        return "a URL with a password"
    if _KEY_VALUE_PASSWORD.search(value):
        return "a connection string with a password="
    return None


def _named_parts(name: str, value: str) -> Iterator[tuple[str, str]]:
    """The value and what it is made of, each with the name that says what it is.

    Words of the value keep its name (`Bearer <token>` under AUTHORIZATION); `key=value` pairs
    (`user=app token=...`) and the members of a JSON object are named by their own keys.
    """
    yield name, value
    for part in re.split(r"[\s,;&?]+", value):
        key, equals, rest = part.partition("=")
        yield (key, rest) if equals and key else (name, part)
    try:
        decoded = json.loads(value)
    except ValueError:
        decoded = None
    stack = [decoded] if isinstance(decoded, dict) else []
    while stack:
        for key, member in stack.pop().items():
            if isinstance(member, dict):
                stack.append(member)
            elif isinstance(member, str):
                yield str(key), member


def value_problem(name: str, value: str) -> str | None:
    """Why `name=value` looks like a secret in the clear (a sentence fragment), or None."""
    found = credential_in(value)
    if found:
        return f"holds {found}"
    if name.upper() == "ARN" or name.upper().endswith("_ARN"):
        if value.strip() and not is_arn(value):
            return "is named as an ARN but does not hold one (a secret's ARN, not its value)"
        return None
    for part_name, part in _named_parts(name, value):
        if (
            _SECRET_WORD.search(part_name)
            and not _IDENTIFIER_NAME.search(part_name)
            and looks_random(part)
        ):
            named = "a secret-sounding name" if part_name == name else repr(part_name)
            return f"holds a random-looking value under {named}"
    return None
