"""Typer commands made at run time from a plug-in's declared options.

A plug-in (an export format, a detector) lists its settings as
:class:`~daybreak.plugins.PluginOption` objects; :func:`command_from_options` turns them
into a command function with a real signature, so Typer parses, validates and documents
them exactly like the options written out by hand.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from enum import Enum
from pathlib import Path
from typing import Any

import typer

from daybreak.plugins import PluginOption

_TYPES: dict[str, type] = {"text": str, "path": Path, "int": int, "flag": bool}


def _choices(option: PluginOption) -> type[Enum]:
    return Enum(  # type: ignore[return-value]  # functional API: an Enum subclass
        f"{option.name.title().replace('_', '')}Choice",
        {c: c for c in option.choices},
        type=str,
    )


def _annotation_and_default(option: PluginOption) -> tuple[Any, Any]:
    kind: Any = _choices(option) if option.choices else _TYPES[option.kind]
    if option.kind == "flag":
        flag = bool(option.default)
        return bool, typer.Option(flag, option.flag, help=option.help, envvar=option.envvar)
    if option.multiple:
        many = list(option.default or [])
        return list[kind], typer.Option(many, option.flag, help=option.help)
    if option.required:
        return kind, typer.Option(..., option.flag, help=option.help, envvar=option.envvar)
    default = kind(option.default) if option.default is not None else None
    return kind | None, typer.Option(default, option.flag, help=option.help, envvar=option.envvar)


def _plain(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    return value


def command_from_options(
    run: Callable[..., None],
    shared: dict[str, tuple[Any, Any]],
    options: list[PluginOption],
) -> Callable[..., None]:
    """A function Typer can register: parameters ``shared`` (name -> (annotation,
    typer.Option)) then ``options``; it calls ``run(**shared, **options)`` with choice
    values as plain strings."""
    names = set(shared)
    params = [
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=ann)
        for name, (ann, default) in shared.items()
    ]
    for option in options:
        if option.name in names:
            raise ValueError(f"option {option.name!r} ({option.flag}) is declared twice")
        names.add(option.name)
        ann, default = _annotation_and_default(option)
        params.append(
            inspect.Parameter(
                option.name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=ann
            )
        )

    def command(**kwargs: Any) -> None:
        run(**{k: _plain(v) for k, v in kwargs.items()})

    command.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    command.__annotations__ = {p.name: p.annotation for p in params}
    return command
