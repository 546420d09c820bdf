"""Statements, conditions and expressions of the .mig language (spec files and core files).

Nesting is bounded (model/language/limits.py): blocks at most ``MAX_NESTING`` deep, expressions
at most ``MAX_EXPRESSION_DEPTH`` levels, so the recursive descent here and the recursive walkers
after it stay far from Python's recursion limit whatever the input.
"""

from __future__ import annotations

from model.kinds import Mode, Property, ReturnCode
from model.language import ast
from model.language.lexer import Token, TokenKind
from model.language.limits import MAX_EXPRESSION_DEPTH, MAX_NESTING
from model.language.parse_tokens import (
    _BINARY_LEVELS,
    DECLARATION_KEYWORDS,
    TokenParser,
    _Abort,
    _join,
)
from model.span import Diagnostic, Severity, Span


class StatementParser(TokenParser):
    """Blocks, statements and expressions; a file's own parser adds its declarations."""

    def mode(self) -> Mode:
        tok = self.ident("a migration mode")
        mode = Mode.parse(tok.text)
        if mode is None:
            modes = ", ".join(m.value for m in Mode)
            raise self.error(tok.span, f"unknown mode '{tok.text}': use one of {modes}")
        return mode

    def return_code(self) -> ReturnCode:
        tok = self.ident("a return code")
        code = ReturnCode.parse(tok.text)
        if code is None:
            codes = ", ".join(c.name for c in ReturnCode)
            raise self.error(tok.span, f"unknown return code '{tok.text}': use one of {codes}")
        return code

    def property_name(self) -> Property:
        first = self.ident("a property name")
        text = first.text
        while self.at("-") and self.peek().kind is TokenKind.IDENT:
            self.pos += 1
            text += "-" + self.ident("a property name").text
        prop = Property.parse(text)
        if prop is None:
            names = ", ".join(p.value for p in Property)
            raise self.error(
                self.span_from(first), f"unknown property '{text}': use one of {names}"
            )
        return prop

    # ------------------------------------------------------------ statements

    def block(self) -> ast.Block:
        if self.nesting >= MAX_NESTING:
            first = self.current
            self.too_deep(first.span)
            self.skip_block()
            return ast.Block((), self.span_from(first))
        self.nesting += 1
        try:
            return self.block_body()
        finally:
            self.nesting -= 1

    def block_body(self) -> ast.Block:
        first = self.expect("{", "to open a block")
        statements: list[ast.Stmt] = []
        while not self.at("}"):
            if self.current.kind is TokenKind.END or self.at_declaration():
                self.unclosed(first)
                return ast.Block(tuple(statements), self.span_from(first))
            start = self.pos
            try:
                statements.append(self.statement())
            except _Abort:
                self.pos = max(self.pos, start + 1)
                self.sync_statement()
            self.skip_separators()
        self.expect("}")
        return ast.Block(tuple(statements), self.span_from(first))

    def too_deep(self, span: Span) -> None:
        """Report nesting past the limit, once per file: the blocks past it are skipped."""
        if self.reported_too_deep:
            return
        self.reported_too_deep = True
        self.diagnostics.append(
            Diagnostic(
                Severity.ERROR,
                span,
                f"blocks nest more than {MAX_NESTING} deep here: migcheck takes at most "
                f"{MAX_NESTING} levels of if, else if, either and repeat; flatten the nesting",
            )
        )

    def skip_block(self) -> None:
        """Skip to the next '{' and past its matching '}' (or to the end of the file)."""
        while not self.at("{") and self.current.kind is not TokenKind.END:
            self.pos += 1
        depth = 0
        while self.current.kind is not TokenKind.END:
            tok = self.current
            self.pos += 1
            if tok.kind is TokenKind.PUNCT and tok.text == "{":
                depth += 1
            elif tok.kind is TokenKind.PUNCT and tok.text == "}":
                depth -= 1
                if depth == 0:
                    return

    def at_declaration(self) -> bool:
        """A declaration where a statement should be: the block before it was left open.

        ``lock`` starts both; it is a declaration when a ':' follows its name.
        """
        tok = self.current
        if tok.kind is not TokenKind.IDENT or tok.text not in DECLARATION_KEYWORDS:
            return False
        return tok.text != "lock" or self.peek(2).text == ":"

    def unclosed(self, first: Token) -> None:
        """Report an unclosed block, naming the '{' whose '}' is most likely the missing one:
        the innermost brace whose closing brace does not line up with its line's indentation."""
        opened: list[Token] = []
        suspects: list[Token] = []
        for tok in self.tokens[self.tokens.index(first) : self.pos]:
            if tok.kind is not TokenKind.PUNCT:
                continue
            if tok.text == "{":
                opened.append(tok)
            elif tok.text == "}" and opened:
                brace = opened.pop()
                if tok.span.column != self.indentation(brace.span.line):
                    suspects.append(brace)
        notes = tuple(
            (brace.span, "this '{' may be the one left open: its '}' does not line up with it")
            for brace in suspects[-1:]
        )
        self.diagnostics.append(
            Diagnostic(
                Severity.ERROR,
                first.span,
                "unclosed '{': add '}' to close this block",
                notes,
            )
        )

    def indentation(self, line: int) -> int:
        """The column of the first token on ``line``."""
        return min(t.span.column for t in self.tokens if t.span.line == line)

    def lock_ref(self) -> ast.LockRef:
        name = self.ident("a lock name (a declared lock, page, newpage or buffers)")
        page: int | None = None
        if name.text in ("page", "buffers") and self.accept("["):
            page, _ = self.integer("a page number")
            self.expect("]", "after the page number")
        access = ast.Access.EXCLUSIVE
        # the side of a reader-writer lock must stand on the same line (``write`` also
        # starts a statement)
        if self.current.span.line == name.span.line:
            if self.accept("read"):
                access = ast.Access.READ
            elif self.accept("write"):
                access = ast.Access.WRITE
        return ast.LockRef(name.text, access, self.span_from(name), page)

    def statement(self) -> ast.Stmt:
        tok = self.current
        word = tok.text if tok.kind is TokenKind.IDENT else ""
        if word == "lock":
            self.pos += 1
            return ast.LockStmt(self.lock_ref(), self.span_from(tok))
        if word == "unlock":
            self.pos += 1
            return ast.UnlockStmt(self.lock_ref(), self.span_from(tok))
        if word == "if":
            self.pos += 1
            cond = self.condition()
            then = self.block()
            other: ast.Block | None = None
            if self.accept("else"):
                other = self.else_if() if self.at("if") else self.block()
            return ast.IfStmt(cond, then, other, self.span_from(tok))
        if word == "either":
            self.pos += 1
            branches = [self.block()]
            while self.accept("or"):
                branches.append(self.block())
            if len(branches) < 2:
                raise self.error(tok.span, "'either' needs at least one 'or { ... }' branch")
            return ast.EitherStmt(tuple(branches), self.span_from(tok))
        if word == "repeat":
            self.pos += 1
            count: int | str
            if self.current.kind is TokenKind.INT:
                count, _ = self.integer("a repetition count")
            else:
                count = self.ident("a repetition count or a param name").text
            return ast.RepeatStmt(count, self.block(), self.span_from(tok))
        if word == "return":
            self.pos += 1
            if self.accept("call"):
                lib = self.ident("a library callback name")
                return ast.ReturnCallStmt(lib.text, self.span_from(tok))
            return ast.ReturnStmt(self.return_code(), self.span_from(tok))
        if word == "move_mapping":
            self.pos += 1
            return ast.MoveMappingStmt(self.span_from(tok))
        if word in ("copy", "copy_states"):
            self.pos += 1
            return ast.CopyStmt(word == "copy_states", self.span_from(tok))
        if word == "write":
            self.pos += 1
            via = self.ident("what to write through: page, ref, or a pointer name")
            return ast.WriteStmt(via.text, self.span_from(tok))
        if word in ("get", "put", "peek"):
            self.pos += 1
            self.expect("ref", f"after '{word}'")
            return ast.RefStmt(word != "put", self.span_from(tok), counted=word != "peek")
        if word == "repoint":
            self.pos += 1
            ptr = self.ident("a pointer name")
            return ast.RepointStmt(ptr.text, self.span_from(tok))
        if word in ("start", "end") and self.peek().text == "read":
            self.pos += 2
            return ast.ReadStmt(word == "start", self.span_from(tok))
        if word in ("wait", "start", "end"):
            self.pos += 1
            self.expect("writeback", f"after '{word}'")
            action = ast.WritebackAction(word)
            return ast.WritebackStmt(action, self.span_from(tok))
        if word == "writepage":
            self.pos += 1
            return ast.WritepageStmt(self.span_from(tok))
        if word == "await":
            self.pos += 1
            return ast.AwaitStmt(self.full_expression(), self.span_from(tok))
        if word == "assert":
            self.pos += 1
            asserted = self.full_expression()
            self.expect(",", "between the assertion and its message")
            message = self.string("the assertion's message")
            return ast.AssertStmt(asserted, message.text, self.span_from(tok))
        if tok.kind is TokenKind.IDENT and self.peek().text == "=":
            self.pos += 2
            value = self.full_expression()
            return ast.AssignStmt(tok.text, value, self.span_from(tok))
        raise self.error(tok.span, f"expected a statement, found {tok.describe()}")

    def else_if(self) -> ast.Block:
        """``else if ...``: an if statement nested in the else branch (one level deeper)."""
        if self.nesting >= MAX_NESTING:
            first = self.current
            self.too_deep(first.span)
            self.skip_block()
            while self.accept("else"):
                self.skip_block()
            return ast.Block((), self.span_from(first))
        self.nesting += 1
        try:
            nested = self.statement()
        finally:
            self.nesting -= 1
        return ast.Block((nested,), nested.span)

    def condition(self) -> ast.Cond:
        first = self.current
        if self.accept("!"):
            if self.at("trylock") or self.at("move_mapping"):
                with_depth = self.deeper(first)
                try:
                    inner = self.condition()
                finally:
                    self.expression_nesting -= with_depth
                return ast.NotCond(inner, self.span_from(first))
            self.pos -= 1
        if self.accept("trylock"):
            return ast.TryLockCond(self.lock_ref(), self.span_from(first))
        if self.accept("move_mapping"):
            return ast.MoveMappingCond(self.span_from(first))
        expr = self.full_expression()
        return ast.ExprCond(expr, self.span_from(first))

    def deeper(self, at: Token) -> int:
        """Enter one more level of '(' or '!'; returns the 1 to leave it with."""
        if self.expression_nesting >= MAX_EXPRESSION_DEPTH:
            raise self.error(
                at.span,
                f"expression nested more than {MAX_EXPRESSION_DEPTH} levels deep here: migcheck "
                f"takes at most {MAX_EXPRESSION_DEPTH} levels of operators, '!' and parentheses; "
                "split it, e.g. into several asserts or with a variable",
            )
        self.expression_nesting += 1
        return 1

    def full_expression(self) -> ast.SExpr:
        """An expression of at most ``MAX_EXPRESSION_DEPTH`` levels, as the walkers after the
        parser recurse over it."""
        first = self.current
        expr = self.expression()
        depth = _depth(expr)
        if depth > MAX_EXPRESSION_DEPTH:
            raise self.error(
                _join(first.span, self.previous.span),
                f"expression of {depth} levels: migcheck takes at most {MAX_EXPRESSION_DEPTH} "
                "levels of operators, '!' and parentheses; split it, e.g. into several asserts "
                "or with a variable",
            )
        return expr

    # ------------------------------------------------------------ expressions

    def expression(self, level: int = 0) -> ast.SExpr:
        if level == len(_BINARY_LEVELS):
            return self.unary()
        first = self.current
        left = self.expression(level + 1)
        while self.current.kind is TokenKind.PUNCT and self.current.text in _BINARY_LEVELS[level]:
            op = self.current.text
            self.pos += 1
            right = self.expression(level + 1)
            left = ast.Binary(op, left, right, self.span_from(first))
        return left

    def unary(self) -> ast.SExpr:
        tok = self.current
        if self.accept("!"):
            level = self.deeper(tok)
            try:
                return ast.Unary("!", self.unary(), self.span_from(tok))
            finally:
                self.expression_nesting -= level
        if self.accept("("):
            level = self.deeper(tok)
            try:
                inner = self.expression()
            finally:
                self.expression_nesting -= level
            self.expect(")", "to close '('")
            return inner
        if tok.kind is TokenKind.INT:
            self.pos += 1
            return ast.IntLit(int(tok.text), tok.span)
        if self.accept("true"):
            return ast.IntLit(1, tok.span, "true")
        if self.accept("false"):
            return ast.IntLit(0, tok.span, "false")
        if self.accept("mode"):
            return self.mode_test(tok)
        if tok.kind is TokenKind.IDENT:
            self.pos += 1
            return ast.Name(tok.text, tok.span)
        raise self.error(tok.span, f"expected an expression, found {tok.describe()}")

    def mode_test(self, first: Token) -> ast.ModeTest:
        if self.accept("in"):
            self.expect("{", "after 'mode in'")
            modes = {self.mode()}
            while self.accept(","):
                modes.add(self.mode())
            self.expect("}", "to close the mode set")
            return ast.ModeTest(frozenset(modes), self.span_from(first))
        if self.accept("=="):
            return ast.ModeTest(frozenset({self.mode()}), self.span_from(first))
        if self.accept("!="):
            excluded = self.mode()
            return ast.ModeTest(frozenset(Mode) - {excluded}, self.span_from(first))
        raise self.error(
            self.current.span, "compare the mode with ==, != or 'in { ... }', e.g. mode == ASYNC"
        )



def _depth(expr: ast.SExpr) -> int:
    """How many levels of operators an expression has, counted without recursion."""
    deepest = 0
    stack: list[tuple[ast.SExpr, int]] = [(expr, 0)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        if isinstance(node, ast.Unary):
            stack.append((node.arg, depth + 1))
        elif isinstance(node, ast.AnyPage):
            stack.append((node.expr, depth + 1))
        elif isinstance(node, ast.Binary):
            stack.append((node.left, depth + 1))
            stack.append((node.right, depth + 1))
    return deepest


