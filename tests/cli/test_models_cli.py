"""``netloupe models``: the zoo with input, size, classes, default layer and licence (issue 16 item 8)."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from netloupe.cli.main import app


def test_models_lists_the_zoo_as_json() -> None:
    out = CliRunner().invoke(app, ["models", "--json"])
    assert out.exit_code == 0, out.output
    rows = {r["name"]: r for r in json.loads(out.stdout)}
    assert {"efficientnet-lite0", "pneumonia-tinycnn"} <= set(rows)
    lite = rows["efficientnet-lite0"]
    assert (lite["input_size"], lite["channels"], lite["classes"], lite["layer"]) == ([224, 224], 3, 1000, "bn2")
    assert lite["licence"] == "Apache-2.0"
    tiny = rows["pneumonia-tinycnn"]
    assert (tiny["input_size"], tiny["channels"], tiny["classes"]) == ([28, 28], 1, 2)


def test_models_name_lists_its_conv_layers() -> None:
    out = CliRunner().invoke(app, ["models", "pneumonia-tinycnn", "--json"])
    assert out.exit_code == 0, out.output
    info = json.loads(out.stdout)
    assert info["layer"] == "features.5"
    assert [(x["name"], x["type"], x["out_channels"]) for x in info["layers"]] == [
        ("features.0.0", "Conv2d", 16),
        ("features.1.0", "Conv2d", 32),
        ("features.3.0", "Conv2d", 64),
        ("features.5.0", "Conv2d", 64),
    ]
    table = CliRunner().invoke(app, ["models"])
    assert table.exit_code == 0 and "efficientnet-lite0" in table.stdout and "licence" in table.stdout
