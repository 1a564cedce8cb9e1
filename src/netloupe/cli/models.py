"""``netloupe models [NAME]``: the zoo (input, size, classes, default CAM layer, licence), or one model's layers."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

__all__ = ["describe_model", "register"]


def describe_model(name: str, layers: bool = False) -> dict[str, Any]:
    """What ``netloupe models`` shows about one zoo model (built offline from the bundled weights).

    Args:
        name: a zoo name (:func:`netloupe.models.zoo.available_models`).
        layers: also list every convolution layer (the names ``--layer`` accepts for CAMs).
    """
    from torch import nn

    from ..errors import ModelLoadError, did_you_mean
    from ..models.zoo import _ZOO, available_models, load_model

    names = available_models()
    if name not in names:
        hint = did_you_mean(name, names)
        raise ModelLoadError(f"model: {name!r} is not a zoo model{hint}; available: {', '.join(names)}")
    entry = _ZOO[name]
    loaded = load_model(name)
    pre = loaded.preprocess
    info: dict[str, Any] = {
        "name": name,
        "input": loaded.input_kind,
        "input_size": list(pre.size) if pre.size is not None else None,
        "channels": pre.channels,
        "classes": len(loaded.class_names),
        "layer": loaded.target_layer,
        "parameters": sum(p.numel() for p in loaded.model.parameters()),
        "licence": entry.licence,
        "description": entry.description,
    }
    if layers:
        conv = (nn.Conv1d, nn.Conv2d, nn.Conv3d)
        info["layers"] = [
            {"name": n, "type": type(m).__name__, "out_channels": int(m.out_channels)}
            for n, m in loaded.model.named_modules()
            if isinstance(m, conv)
        ]
    return info


def models_command(
    name: Annotated[str | None, typer.Argument(help="A zoo model: also list its convolution layers.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """List the models the zoo loads offline: input, size, classes, default CAM layer and licence."""
    from ..models.zoo import available_models

    infos = [describe_model(name, layers=True)] if name else [describe_model(n) for n in available_models()]
    if as_json:
        typer.echo(json.dumps(infos if name is None else infos[0], indent=2))
        return
    table = Table(title="netloupe model zoo (nothing is downloaded)")
    for column in ("name", "input", "size", "classes", "layer", "licence"):
        table.add_column(column, no_wrap=column != "licence")
    for info in infos:
        size = "x".join(str(s) for s in info["input_size"]) if info["input_size"] else "any"
        table.add_row(
            info["name"],
            f"{info['input']} {info['channels']}ch",
            size,
            str(info["classes"]),
            str(info["layer"] or "automatic"),
            info["licence"],
        )
    out = Console()  # stdout: the listing is the command's output
    out.print(table)
    if name:
        layers = Table(title=f"{name}: convolution layers (for --layer)")
        for column in ("layer", "type", "out channels"):
            layers.add_column(column)
        for layer in infos[0]["layers"]:
            layers.add_row(layer["name"], layer["type"], str(layer["out_channels"]))
        out.print(layers)


def register(app: typer.Typer) -> None:
    app.command("models")(models_command)
