"""The front end on hostile, machine-made and mistaken input: every bad spec gets a located
diagnostic (exit status 2), never a traceback or a hang, and every accepted spec means what
docs/spec-language.md says.  Each reported problem is a test here that failed before its fix;
the tests around it pin what the fix must keep working."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from checker.engines.budget import Budget
from checker.result import Verdict
from model.kinds import Property
from model.language import limits
from model.language.parser import parse_text
from model.language.validate import validate
from model.span import Severity
from tests.cli_helpers import migcheck
from tests.semantics_helpers import run, spec, system_of

LOCATED = re.compile(r"^[^:\n]+\.mig:\d+:\d+: (error|note|warning): \S")
MIGRATE = "move_mapping\nif mode == SYNC_NO_COPY { copy_states } else { copy }\nreturn OK"


def errors_of(text: str) -> list[str]:
    """Every error and note, rendered, of a spec text (syntax errors, else validation)."""
    parsed, syntax = parse_text(text, "t.mig")
    found = list(syntax) if syntax else list(validate(parsed))
    return [
        line
        for d in found
        if d.severity is not Severity.WARNING
        for line in d.render().splitlines()
    ]


def check_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, data: str | bytes,
               *options: str) -> tuple[int, str]:
    """Run ``migcheck check`` on a file holding ``data``; the exit status and stderr."""
    path = tmp_path / "t.mig"
    if isinstance(data, str):
        path.write_text(data, encoding="utf-8")
    else:
        path.write_bytes(data)
    outcome = migcheck(["check", str(path), "--max-states", "20000", *options], monkeypatch)
    return outcome.exit_code, outcome.stderr.replace(str(path), "t.mig")


def rejected(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, data: str | bytes) -> list[str]:
    """The stderr lines of a spec migcheck must reject with exit status 2, located lines only."""
    status, stderr = check_file(tmp_path, monkeypatch, data)
    assert status == 2, stderr
    lines = stderr.splitlines()
    assert lines and all(LOCATED.match(line) for line in lines), stderr
    return lines


# ---------------------------------------------------------------- 3. sizes and nesting


def test_a_unicode_digit_is_not_a_digit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lines = rejected(tmp_path, monkeypatch, 'spec s\nsource "x"\nparam pages = \u00b2\n'
                     "callback { return OK }\n")
    assert lines == [
        "t.mig:3:15: error: unexpected character '\u00b2' (U+00B2): numbers are written "
        "with the digits 0-9"
    ]


def test_a_letter_from_another_script_is_named(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    lines = rejected(tmp_path, monkeypatch, 'spec s\nsource "x"\nlock l\u0430 : mutex\n'
                     "callback { return OK }\n")
    assert lines == [
        "t.mig:3:7: error: unexpected character '\u0430' (U+0430): names are written with "
        "the ASCII letters a-z, A-Z, the digits 0-9 and '_'"
    ]


def test_a_five_thousand_digit_integer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lines = rejected(tmp_path, monkeypatch, 'spec s\nsource "x"\nparam pages = ' + "9" * 5000
                     + "\ncallback { return OK }\n")
    assert lines == [
        "t.mig:3:15: error: integer of 5000 digits: migcheck takes integers of at most 9 "
        "digits; use a smaller number"
    ]


def test_a_twenty_digit_repeat_count(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lines = rejected(tmp_path, monkeypatch, 'spec s\nsource "x"\ncallback {\n'
                     "repeat 99999999999999999999 { copy_states }\nreturn OK }\n")
    assert lines == [
        "t.mig:4:8: error: integer of 20 digits: migcheck takes integers of at most 9 digits; "
        "use a smaller number"
    ]


NESTED = 450
TOO_DEEP_BLOCKS = (
    "error: blocks nest more than 64 deep here: migcheck takes at most 64 levels of if, "
    "else if, either and repeat; flatten the nesting"
)
TOO_DEEP_EXPRESSION = (
    "error: expression nested more than 64 levels deep here: migcheck takes at most 64 levels "
    "of operators, '!' and parentheses; split it, e.g. into several asserts or with a variable"
)
HEAD = 'spec s\nsource "x"\nvar b : bool = false\ncallback {\n'


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("if b {\n" * NESTED + "}\n" * NESTED, f"t.mig:68:6: {TOO_DEEP_BLOCKS}"),
        ("either {\n" * NESTED + "} or { }\n" * NESTED, f"t.mig:68:8: {TOO_DEEP_BLOCKS}"),
        ("repeat 1 {\n" * NESTED + "}\n" * NESTED, f"t.mig:68:10: {TOO_DEEP_BLOCKS}"),
        ("if b { } " + "else if b { } " * NESTED + "\n", f"t.mig:5:888: {TOO_DEEP_BLOCKS}"),
        ("assert " + "(" * NESTED + "b" + ")" * NESTED + ', "m"\n',
         f"t.mig:5:72: {TOO_DEEP_EXPRESSION}"),
        ("assert " + "!" * NESTED + 'b, "m"\n', f"t.mig:5:72: {TOO_DEEP_EXPRESSION}"),
        ("if " + "!" * NESTED + "trylock page { }\n", f"t.mig:5:68: {TOO_DEEP_EXPRESSION}"),
        ("assert " + " && ".join(["true"] * 20_000) + ', "m"\n',
         "t.mig:5:8: error: expression of 19999 levels: migcheck takes at most 64 levels of "
         "operators, '!' and parentheses; split it, e.g. into several asserts or with a "
         "variable"),
    ],
    ids=["if", "either", "repeat", "else-if", "parentheses", "not", "not-trylock", "wide"],
)
def test_nesting_past_the_limit_is_one_located_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, body: str, expected: str
) -> None:
    assert rejected(tmp_path, monkeypatch, HEAD + body + "return OK\n}\n") == [expected]


def deep_expression() -> str:
    """``(b == (b == ... (b == b)...))``: 64 parentheses and 64 operators deep, false when b is
    false.  ``==`` does not flatten the way ``&&`` does, so the model's expressions are as deep
    as the spec's."""
    expr = "b"
    for _ in range(limits.MAX_EXPRESSION_DEPTH):
        expr = f"(b == {expr})"
    return expr


def deepest_spec() -> str:
    """A spec at every nesting limit at once: 64 levels of blocks (the callback's own, 62 ifs,
    an either), inside them an expression 64 parentheses and 64 operators deep, and an else-if
    chain as long as allowed."""
    depth = limits.MAX_NESTING
    operators = limits.MAX_EXPRESSION_DEPTH
    nested = (
        "if b {\n" * (depth - 2)
        + f'either {{ assert {deep_expression()}, "deep" }} or {{ b = !b }}\n'
        + "}\n" * (depth - 2)
    )
    chain = "if b { b = false } " + "else if b { b = false } " * (depth - 2) + "\n"
    return (
        'spec deepest\nsource "test"\nvar b : bool = any\n'
        + "callback {\n" + nested + chain + MIGRATE + "\n}\n"
        + "actor flipper on page 0 { b = " + "!" * (operators - 1) + "b }\n"
    )


def test_a_spec_at_every_nesting_limit_is_checked_end_to_end() -> None:
    text = deepest_spec()
    assert errors_of(text) == []
    result = run(text)
    assert result.verdict is Verdict.VIOLATED
    assert set(result.violated()) == {Property.ASSERTION}
    trace = result.trace_for(Property.ASSERTION)
    assert trace is not None and trace.steps


def test_the_deepest_expression_is_encoded_for_z3() -> None:
    from checker.engines.z3 import engine as z3engine

    text = spec(f'assert {deep_expression()}, "deep"\n' + MIGRATE, "var b : bool = any")
    result = z3engine.check(system_of(text), Budget(max_states=100_000, timeout=120))
    assert set(result.violated()) == {Property.ASSERTION}


def test_a_spec_at_every_nesting_limit_through_the_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    status, stderr = check_file(tmp_path, monkeypatch, deepest_spec(), "--mode", "SYNC",
                                "--trace")
    assert status == 1 and ": error:" not in stderr, stderr


# ---------------------------------------------------------------- 4. encodings


def test_a_byte_that_is_not_utf8_is_located(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    data = b'spec s\nsource "x"\ncallback {\n  return OK  # caf\xe9\n}\n'
    assert rejected(tmp_path, monkeypatch, data) == [
        "t.mig:4:19: error: byte 0xe9 is not UTF-8: save the file as UTF-8"
    ]


def test_a_bad_byte_on_the_first_line_after_a_byte_order_mark(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = b"\xef\xbb\xbfspec s\xff\n"
    assert rejected(tmp_path, monkeypatch, data) == [
        "t.mig:1:7: error: byte 0xff is not UTF-8: save the file as UTF-8"
    ]


def test_a_byte_order_mark_is_accepted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = spec(MIGRATE).replace("spec t", "spec bom") + "lock x : mutex\n"
    status, stderr = check_file(tmp_path, monkeypatch, b"\xef\xbb\xbf" + text.encode())
    assert status == 0 and ": error:" not in stderr, stderr
    status, stderr = check_file(tmp_path, monkeypatch, b"\xef\xbb\xbf" + text.encode()
                                + b"lock x : mutex\n")
    assert status == 2
    assert stderr.splitlines()[0] == (
        "t.mig:10:1: error: duplicate name 'x': a lock already has it"
    )


# ---------------------------------------------------------------- 5. declared twice


def test_a_second_spec_line() -> None:
    assert errors_of('spec a\nsource "x"\nspec b\ncallback { return OK }\n') == [
        "t.mig:3:1: error: a second 'spec' line: name the spec once",
        "t.mig:1:1: note: the first 'spec' line is here",
    ]


def test_a_second_source_line() -> None:
    assert errors_of('spec a\nsource "x"\nsource "y"\ncallback { return OK }\n') == [
        "t.mig:3:1: error: a second 'source' line: cite every function in one 'source' line",
        "t.mig:2:1: note: the first 'source' line is here",
    ]
