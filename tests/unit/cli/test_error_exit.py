"""The one error exit every command shares (terminal.exits_on_errors): which error gives which exit
code and the one ``error: ...`` line, printed literally; other exceptions are not swallowed."""

from __future__ import annotations

import pytest
import typer
from typer.testing import CliRunner

from media_stream.domain.errors import ConfigurationError, ValidationError
from media_stream.terminal import Bootstrap, exits_on_errors


class FailedJob(ConfigurationError):  # any error that names its job, as the SDK's JobFailedError does
    def __init__(self) -> None:
        super().__init__("job job-1 failed: [red]boom[/red] :a:")
        self.job_id = "job-1"


ERRORS = {
    "bad": ValidationError("width", "must be a multiple of 8"),
    "config": ConfigurationError("no topic for role 'x'"),
    "job": FailedJob(),
    "timeout": TimeoutError("no news within 3s"),
}


def make_app() -> typer.Typer:
    app = typer.Typer()

    @app.command()
    @exits_on_errors
    def run(kind: str, bootstrap: Bootstrap = None) -> None:
        if kind == "ok":
            typer.echo(f"ok {bootstrap}")
            return
        if kind == "other":
            raise KeyError("not ours")
        raise ERRORS[kind]

    return app


@pytest.mark.parametrize(("kind", "code", "line"), [
    ("bad", 2, "error: width: must be a multiple of 8"),
    ("config", 2, "error: no topic for role 'x'"),
    ("job", 1, "error: job job-1 failed: [red]boom[/red] :a:"),
    ("timeout", 1, "error: no news within 3s"),
])  # fmt: skip
def test_each_error_is_one_line_and_its_exit_code(kind: str, code: int, line: str) -> None:
    shown = CliRunner().invoke(make_app(), [kind])
    assert shown.exit_code == code, shown.output
    assert shown.output.strip().splitlines() == [line]


def test_the_decorated_command_keeps_its_options_and_other_errors_propagate() -> None:
    app = make_app()
    ok = CliRunner().invoke(app, ["ok", "--bootstrap", "h:9092"])
    assert ok.exit_code == 0 and ok.output.strip() == "ok h:9092", ok.output
    other = CliRunner().invoke(app, ["other"])
    assert other.exit_code == 1 and isinstance(other.exception, KeyError)
