"""The options several ``searchidx`` commands share: the index, ``--json``, ``--color``, file paths."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from searchidx import is_cluster
from searchidx.errors import NUL_IN_PATH

F = TypeVar("F", bound=Callable[..., Any])


class FilePath(click.Path):
    """``click.Path`` that refuses a NUL character (which makes ``os.stat`` raise) as a usage error."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        """The path, or a usage error naming the parameter."""
        if "\0" in str(value):
            self.fail(f"{str(value)!r} {NUL_IN_PATH}.", param, ctx)
        return super().convert(value, param, ctx)


class IndexLocation(FilePath):
    """An index folder, or the ``http(s)://host:port/name`` URL of an index on an OpenSearch cluster."""

    name = "path|url"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        """The URL as it is (a string), or the folder as a path."""
        if is_cluster(str(value)):
            return str(value).strip()
        return super().convert(value, param, ctx)


def index_option(function: F) -> F:
    """The ``--index PATH|URL`` option shared by every command."""
    return click.option(
        "--index",
        "index",
        type=IndexLocation(file_okay=False, path_type=Path),
        envvar="SEARCHIDX_INDEX",
        default="index",
        show_default=True,
        help="Index folder, or an OpenSearch index URL http(s)://host:9200/NAME (env SEARCHIDX_INDEX).",
    )(function)


def json_option(function: F) -> F:
    """The ``--json`` flag."""
    return click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")(function)


def color_option(function: F) -> F:
    """The ``--color auto|always|never`` option."""
    return click.option(
        "--color",
        type=click.Choice(["auto", "always", "never"]),
        default="auto",
        show_default=True,
        help="Mark matches in bold red; auto = when stdout is a terminal and NO_COLOR is unset.",
    )(function)
