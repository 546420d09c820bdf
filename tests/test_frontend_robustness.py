"""The front end on hostile, machine-made and mistaken input: every bad spec gets a located
diagnostic (exit status 2), never a traceback or a hang, and every accepted spec means what
docs/spec-language.md says.  Each reported problem is a test here that failed before its fix;
the tests around it pin what the fix must keep working."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from checker.engines.budget import Budget
from checker.engines.explicit import search as explicit
from checker.result import Verdict
from checker.run import Overrides, check_modes
from model.kinds import ALL_MODES, Mode, Property
from model.language import limits
from model.language.names import RESERVED, VARIABLE_KEYWORDS
from model.language.parser import parse_text
from model.language.validate import validate
from model.span import Severity
from tests.cli_helpers import ROOT, migcheck
from tests.semantics_helpers import run, spec, system_of, violated

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


# ---------------------------------------------------------------- 1. repeat NAME


REPEAT_PAGES = """spec s
source "test"
param pages = 3
param contents = none
var n : int[0..8] = 0
actor counter on page 0 { repeat pages { n = n + 1 }; assert n == 3, "three" }
callback { return OK }
"""


def test_repeat_pages_repeats_the_pages_param() -> None:
    parsed, _ = parse_text(REPEAT_PAGES, "t.mig")
    verdicts = {r.mode: set(r.violated()) for r in check_modes(parsed)}
    assert verdicts == {
        Mode.ASYNC: set(),
        Mode.SYNC_LIGHT: set(),
        Mode.SYNC: set(),
        Mode.SYNC_NO_COPY: {Property.COPY_ORDER},
    }


def test_repeat_follows_a_command_line_override() -> None:
    parsed, _ = parse_text(REPEAT_PAGES.replace("param pages = 3\n", ""), "t.mig")
    for pages, wrong in ((3, set()), (2, {Property.ASSERTION})):
        for result in check_modes(parsed, overrides=Overrides(pages=pages)):
            expected = set(wrong)
            if result.mode is Mode.SYNC_NO_COPY:
                expected.add(Property.COPY_ORDER)
            assert set(result.violated()) == expected, (pages, result.mode)


@pytest.mark.parametrize("name", ["migrators", "writes", "passes"])
def test_repeat_uses_each_numeric_param(name: str) -> None:
    text = spec(
        MIGRATE,
        "var n : int[0..10] = 0",
        f"actor counter on page 0 {{ repeat {name} {{ n = n + 1 }}\n"
        f'assert n == {name}, "one per count" }}',
    )
    for value in (1, 2, 3):
        assert violated(text, **{name: value}) == set(), (name, value)


def test_the_validator_repeats_the_named_param_too() -> None:
    """With writes = 0 the old analysis unrolled 'repeat pages' zero times."""
    text = spec(
        MIGRATE,
        "param writes = 0",
        "lock a : mutex",
        "actor taker { repeat pages { lock a }\nunlock a }",
    )
    assert errors_of(text) == []


def test_a_huge_repeat_count_is_an_error_and_is_not_unrolled() -> None:
    text = spec("repeat 999999999 { copy_states }\n" + MIGRATE)
    program = (
        "import sys\nfrom model.language.parser import parse_text\n"
        "from model.language.validate import validate\n"
        "spec, _ = parse_text(sys.stdin.read(), 't.mig')\n"
        "print('\\n'.join(d.render() for d in validate(spec)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", program], input=text, capture_output=True, text=True,
        cwd=ROOT, timeout=60, check=True,
    )
    assert done.stdout.splitlines() == [
        "t.mig:5:1: error: repeat 999999999: counts run from 0 to 8; repeat a param "
        "(pages, migrators, writes, passes) to follow the instance"
    ]


# ---------------------------------------------------------------- 2. one reference at a time


def test_peek_ref_while_a_counted_reference_is_held_is_rejected() -> None:
    text = spec(
        MIGRATE,
        "actor user {\nlock page\nget ref\nunlock page\npeek ref\nwrite ref\nput ref\n}",
    )
    assert errors_of(text) == [
        "t.mig:7:1: error: peek ref while a reference may still be held: put ref before "
        "taking another (a thread holds one reference at a time)",
        "t.mig:5:1: note: the reference taken here has not been put",
    ]


def test_get_ref_while_a_reference_is_held_on_one_path_names_that_path() -> None:
    text = spec(
        MIGRATE,
        "var b : bool = any",
        "actor user {\neither { lock page; get ref; unlock page } or { b = true }\n"
        "if b { b = false }\nget ref\nput ref\n}",
    )
    assert errors_of(text) == [
        "t.mig:7:1: error: get ref while a reference may still be held: put ref before "
        "taking another (a thread holds one reference at a time)",
        "t.mig:5:8: note: on the path through branch 1 of 'either'",
    ]


def test_a_reference_put_before_the_next_is_accepted_and_keeps_its_count() -> None:
    text = spec(
        MIGRATE,
        "actor user {\nlock page\nget ref\nunlock page\nput ref\npeek ref\nwrite ref\n"
        "put ref\n}",
    )
    assert errors_of(text) == []


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


def test_caller_holds_a_lock_twice() -> None:
    text = spec(MIGRATE, "lock l : mutex", "caller holds l, l")
    assert errors_of(text) == [
        "t.mig:4:17: error: caller holds l twice in one line: name each lock once",
        "t.mig:4:14: note: l is named here first",
    ]
    other_modes = spec(MIGRATE, "lock l : mutex", "caller holds l in ASYNC",
                       "caller holds l in SYNC")
    assert errors_of(other_modes) == []


# ---------------------------------------------------------------- 6. sizes of the instance


def test_a_variable_of_more_than_256_values() -> None:
    assert errors_of(spec(MIGRATE, "var v : int[0..256] = 0")) == [
        "t.mig:3:1: error: var v has 257 values (0..256): migcheck takes at most 256 values "
        "per variable; narrow the range"
    ]
    assert errors_of(spec(MIGRATE, "var v : int[-128..127] = 0")) == []


THREADS = spec(
    MIGRATE,
    "param pages = 8",
    "param migrators = 4",
    "actor watcher on page 0 { wait writeback }",
    *(f"actor writer{i} {{ write page }}" for i in range(8)),
)


def test_more_than_255_threads_is_an_error_at_the_actor_that_multiplies() -> None:
    assert errors_of(THREADS) == [
        "t.mig:6:1: error: the instance has 261 threads (4 migrator(s), 8 actor(s) on each of "
        "32 pages, 1 actor(s) on one page); migcheck takes at most 255: lower param pages or "
        "param migrators (or --pages, --migrators), or run the actor on one page: "
        "'actor writer0 on page 0'"
    ]


def test_more_than_255_threads_from_the_command_line(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    small = THREADS.replace("param pages = 8\n", "")
    status, stderr = check_file(tmp_path, monkeypatch, small, "--pages", "8")
    assert status == 2
    assert stderr.splitlines()[-1] == (
        "Error: t.mig:5:1: error: the instance has 261 threads (4 migrator(s), 8 actor(s) on "
        "each of 32 pages, 1 actor(s) on one page); migcheck takes at most 255: lower param "
        "pages or param migrators (or --pages, --migrators), or run the actor on one page: "
        "'actor writer0 on page 0'"
    )


# ---------------------------------------------------------------- 7. many locations


def long_callback(statements: int) -> str:
    body = "\n".join(["copy_states"] * statements)
    return spec(
        "move_mapping\n" + body + "\nif mode == SYNC_NO_COPY { copy_states } else { copy }\n"
        "return OK",
        "actor user on page 0 { lock page\nwrite page\nunlock page }",
    )


def test_a_thread_with_more_than_256_locations_is_checked() -> None:
    text = long_callback(40)
    large = system_of(text, pages=8)
    sizes = [v.high - v.low + 1 for v in large.variables]
    assert max(sizes) > 256
    small = explicit.check(system_of(text, pages=1), Budget(max_states=500_000))
    result = explicit.check(large, Budget(max_states=2_000_000))
    assert result.verdict is small.verdict is Verdict.HOLDS
    assert result.statistics.states > small.statistics.states


def test_a_wide_thread_finds_the_same_violation_as_a_small_instance() -> None:
    racy = long_callback(40).replace("lock page\nwrite page\nunlock page", "write page")
    small = explicit.check(system_of(racy, pages=1), Budget(max_states=500_000))
    large = explicit.check(system_of(racy, pages=8), Budget(max_states=2_000_000))
    assert set(small.violated()) == set(large.violated()) == {Property.LOST_UPDATE}
    trace = large.trace_for(Property.LOST_UPDATE)
    replayed = small.trace_for(Property.LOST_UPDATE)
    assert trace is not None and replayed is not None
    assert len(trace.steps) == len(replayed.steps)


# ---------------------------------------------------------------- 8. friction


@pytest.mark.parametrize(
    ("declaration", "expected"),
    [
        ("lock page : mutex",
         "'page' is a reserved name (the page: its lock PG_locked, and the page a write through "
         "the mapping reaches): name the lock something else, e.g. 'page_lock'"),
        ("actor writeback { write page }",
         "'writeback' is a reserved name (the page's PG_writeback flag): name the actor "
         "something else, e.g. 'writeback_actor'"),
        ("var writes : bool = false",
         "'writes' is a reserved name (the param writes, set with 'param writes = ...'): name "
         "the variable something else, e.g. 'writes_state'"),
        ("pointer newpage",
         "'newpage' is a reserved name (the new page's lock): name the pointer something else, "
         "e.g. 'newpage_pointer'"),
        ("var copy : bool = false",
         "'copy' is a statement keyword: a variable named so could not be assigned or tested; "
         "name it something else, e.g. 'copy_state'"),
        ("var true : bool = false",
         "'true' is a reserved name (the value 1): name the variable something else, "
         "e.g. 'true_state'"),
    ],
    ids=["lock-page", "actor-writeback", "var-writes", "pointer-newpage", "var-copy",
         "var-true"],
)
def test_a_reserved_name_says_so_and_its_suggestion_works(declaration: str,
                                                          expected: str) -> None:
    assert errors_of(spec(MIGRATE, declaration)) == [f"t.mig:3:1: error: {expected}"]
    suggested = re.search(r"e\.g\. '(\w+)'", expected)
    assert suggested is not None
    word = declaration.split()[1]
    fixed = declaration.replace(f" {word} ", f" {suggested.group(1)} ", 1)
    if fixed == declaration:
        fixed = declaration.replace(word, suggested.group(1))
    assert errors_of(spec(MIGRATE, fixed)) == []


def test_the_documented_reserved_names_are_the_reserved_names() -> None:
    text = (ROOT / "docs" / "spec-language.md").read_text(encoding="utf-8")
    section = text.split("## Reserved names", 1)[1].split("\n## ", 1)[0]
    paragraphs = [p for p in section.split("\n\n") if p.strip()]
    assert set(re.findall(r"`(\w+)`", paragraphs[1])) == set(RESERVED)
    assert set(re.findall(r"`(\w+)`", paragraphs[2])) == set(VARIABLE_KEYWORDS)


def test_write_newpage_advice_leads_to_a_valid_spec() -> None:
    wrong = spec(MIGRATE, "actor user { write newpage }")
    assert errors_of(wrong) == [
        "t.mig:3:14: error: an actor cannot write the new page by name: 'write page' writes "
        "through the mapping, which leads to the new page once move_mapping has switched it"
    ]
    assert errors_of(wrong.replace("write newpage", "write page")) == []


@pytest.mark.parametrize(
    ("statement", "expected", "fixed"),
    [
        ("lock writeback", "t.mig:3:19: error: undeclared lock 'writeback': writeback is the "
         "page's PG_writeback flag, not a lock: wait for it with 'wait writeback'",
         "wait writeback"),
        ("writeback = 1", "t.mig:3:14: error: writeback is the page's PG_writeback flag: an "
         "actor sets and clears it with 'start writeback' and 'end writeback'",
         "start writeback\nend writeback"),
        ("pages = 2", "t.mig:3:14: error: assignment to the param pages, which is fixed for the "
         "whole instance: set it with 'param pages = ...', or declare a variable, e.g. "
         "'var pages_state : int[0..8] = 0'", "pages_state = 2"),
        ("write buffers", "t.mig:3:14: error: write through 'buffers': 'buffers' is a reserved "
         "name, not a pointer; write through page, ref or a declared pointer, e.g. "
         "'pointer buffers_pointer'", "write buffers_pointer"),
        ("if ASYNC { lock page\nunlock page }", "t.mig:3:17: error: unknown name 'ASYNC': test "
         "the mode with 'mode == ASYNC'", "if mode == ASYNC { lock page\nunlock page }"),
    ],
    ids=["lock-writeback", "assign-writeback", "assign-param", "write-buffers", "mode-name"],
)
def test_advice_about_builtin_names_leads_to_a_valid_spec(statement: str, expected: str,
                                                          fixed: str) -> None:
    declarations = ("var pages_state : int[0..8] = 0", "pointer buffers_pointer")
    wrong = spec(MIGRATE, f"actor user {{ {statement} }}")
    assert errors_of(wrong) == [expected]
    good = spec(MIGRATE, *declarations, f"actor user {{ {fixed} }}")
    assert errors_of(good) == []


TRYLOCK_WHEN_MAPPED = spec(
    "if mapped {\n  if !trylock im { return EAGAIN }\n}\n"
    "move_mapping\nif mode == SYNC_NO_COPY { copy_states } else { copy }\n"
    "if mapped { unlock im }\nreturn OK",
    "lock im : mutex",
    "var mapped : bool = any",
)


def test_an_unlock_wrong_on_some_paths_only_is_accepted() -> None:
    assert errors_of(TRYLOCK_WHEN_MAPPED) == []
    for mode in ALL_MODES:
        assert violated(TRYLOCK_WHEN_MAPPED, mode) == set(), mode


def test_an_unlock_wrong_on_some_paths_is_reported_where_the_path_occurs() -> None:
    remapped = TRYLOCK_WHEN_MAPPED + "actor mapper on page 0 { mapped = true }\n"
    result = run(remapped)
    assert set(result.violated()) == {Property.LOCK_BALANCE}
    trace = result.trace_for(Property.LOCK_BALANCE)
    assert trace is not None
    assert trace.message == "unlock im, which this thread does not hold"
    assert [(s.thread, s.action) for s in trace.steps[-3:]] == [
        ("mapper", "mapped = true"),
        ("migrator", "mapped: true"),
        ("migrator", "unlock im"),
    ]


def test_an_unlock_wrong_on_every_path_names_the_branch_that_decides() -> None:
    """The note used to name the last branch taken ('b'), not the trylock whose failure path
    this is."""
    text = spec(
        "lock private_lock\nif !trylock ring_lock {\n  if b { b = false }\n"
        "  unlock ring_lock\n  unlock private_lock\n  return EAGAIN\n}\n" + MIGRATE
        + "\nunlock ring_lock\nunlock private_lock",
        "lock private_lock : spinlock",
        "lock ring_lock : mutex",
        "var b : bool = any",
    ).replace("return OK\nunlock ring_lock\nunlock private_lock",
              "unlock ring_lock\nunlock private_lock\nreturn OK")
    assert errors_of(text) == [
        "t.mig:10:3: error: unlock of ring_lock, which is not held on any path to here: take "
        "ring_lock before this, or remove the unlock",
        "t.mig:8:4: note: on the path where '!trylock ring_lock' is true",
    ]


def test_an_unlock_after_the_lock_was_released_names_the_release() -> None:
    text = spec("lock a\nunlock a\nunlock a\n" + MIGRATE, "lock a : mutex")
    assert errors_of(text) == [
        "t.mig:7:1: error: unlock of a, which is not held on any path to here: take a before "
        "this, or remove the unlock",
        "t.mig:6:1: note: a is released here",
    ]


def test_a_put_or_write_through_a_reference_held_on_some_paths_is_checked_at_run_time() -> None:
    text = spec(
        MIGRATE,
        "var want : bool = any",
        "actor user {\nif want { lock page; get ref; unlock page }\n"
        "if want { write ref; put ref }\n}",
    )
    assert errors_of(text) == []
    assert violated(text) == set()
    flipped = text + "actor flipper on page 0 { want = true }\n"
    result = run(flipped)
    assert set(result.violated()) == {Property.LOCK_BALANCE}
    trace = result.trace_for(Property.LOCK_BALANCE)
    assert trace is not None
    assert trace.message == "write ref without a reference held"
    assert [(s.thread, s.action) for s in trace.steps[-2:]] == [
        ("user", "want: true"),
        ("user", "write ref: no reference held"),
    ]


def test_missing_return_names_the_branch_that_does_not_return() -> None:
    text = spec(
        "if !move_mapping { b = true }\nelse {\n  copy\n  return OK\n}\nif b { b = false }",
        "var b : bool = any",
    )
    assert errors_of(text) == [
        "t.mig:11:1: error: the callback can reach its end without 'return': add 'return OK' "
        "or another return code",
        "t.mig:5:4: note: on the path where '!move_mapping' is true",
    ]


# ---------------------------------------------------------------- documentation


def test_the_limits_section_lists_every_limit() -> None:
    text = (ROOT / "docs" / "spec-language.md").read_text(encoding="utf-8")
    section = text.split("## Limits", 1)[1].split("\n## ", 1)[0]
    rows = dict(re.findall(r"^\| ([^|]+?) \| (\d+) \|", section, re.MULTILINE))
    names = {
        "digits of an integer": "MAX_INTEGER_DIGITS",
        "nesting of blocks": "MAX_NESTING",
        "depth of an expression": "MAX_EXPRESSION_DEPTH",
        "values of a variable": "MAX_VARIABLE_VALUES",
        "threads of an instance": "MAX_THREADS",
        "count of `repeat N`": "MAX_REPEAT",
    }
    assert rows == {label: str(getattr(limits, name)) for label, name in names.items()}
    assert set(names.values()) == {n for n in vars(limits) if n.startswith("MAX_")}


def test_the_documented_error_is_the_one_migcheck_prints(monkeypatch: pytest.MonkeyPatch) -> None:
    text = (ROOT / "docs" / "spec-language.md").read_text(encoding="utf-8")
    section = text.split("## Errors", 1)[1]
    command = "migcheck check tests/data/bad/unlock_not_held.mig"
    example = section.split(f"$ {command}\n", 1)[1].split("```", 1)[0]
    assert example == migcheck(command, monkeypatch).stderr


def test_a_second_core_line() -> None:
    text = 'spec a\nsource "x"\ncore linux-4.14\ncore linux-6.6\ncallback { return OK }\n'
    assert errors_of(text) == [
        "t.mig:4:1: error: a second 'core' line: a spec names one core",
        "t.mig:3:1: note: the first 'core' line is here",
    ]


def test_a_core_file_that_is_not_utf8_is_located(tmp_path: Path) -> None:
    from model.language.core_parser import parse_core_file
    from model.span import SpecError

    path = tmp_path / "core.mig"
    path.write_bytes(b"core broken\n# \xff\n")
    with pytest.raises(SpecError) as raised:
        parse_core_file(path, "core.mig")
    assert str(raised.value) == (
        "core.mig:2:3: error: byte 0xff is not UTF-8: save the file as UTF-8"
    )


def test_nested_any_in_a_core_is_bounded() -> None:
    from model.language.core_parser import parse_core_text

    deep = "any(" * 70 + "b" + ")" * 70
    text = f"core c\nmigrate in SYNC over isolated pages {{\n  await {deep}\n}}\n"
    _, found = parse_core_text(text, "core.mig")
    assert [d.render() for d in found][:1] == [f"core.mig:3:{9 + 4 * 64}: {TOO_DEEP_EXPRESSION}"]
