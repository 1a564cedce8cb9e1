"""``netloupe explain INPUT...``: overlays, arrays, NIfTI maps, top-k figures and one manifest.

Photos, image arrays, DICOM and NIfTI files go through the same explain job (``netloupe.pipeline``):
every option applies to every kind, and a file that cannot be read or explained is recorded in the
manifest while the others go on; the command then exits with status 2 and a summary.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .._progress import pass_callback
from ..cam.attention_choice import DEFAULT_METHOD
from ..cam.base import CAMMethod
from ..models.zoo import DEFAULT_MODEL, LoadedModel
from ._console import console, print_error, progress
from ._model_options import LayoutOption, OutputOption, parse_layout, parse_output
from ._options import METHODS_HELP, Threads, load_cli_model, parse_device, parse_methods, set_threads

__all__ = ["register"]

_MAX_LISTED = 20


def parse_target(target: str | None) -> int | str | None:
    """``--target 3`` -> class index 3; ``--target "tabby"`` -> the class name."""
    if target is None:
        return None
    return int(target) if target.lstrip("-").isdigit() else target


def explain_command(
    images: Annotated[
        list[Path],
        typer.Argument(help="Input files: PNG, JPEG, TIFF, BMP, .npy, DICOM, NIfTI.", show_default=False),
    ],
    model: Annotated[str, typer.Option("--model", "-m", help="Zoo name or model file.")] = DEFAULT_MODEL,
    method: Annotated[str, typer.Option("--method", "--methods", help=METHODS_HELP)] = "auto",
    top_k: Annotated[
        int | None,
        typer.Option(
            "--top-k",
            "-k",
            min=1,
            help="Explain the k most probable classes.",
            show_default="3, or all of a smaller model's classes",
        ),
    ] = None,
    target: Annotated[str | None, typer.Option("--target", help="Explain this class (index or name).")] = None,
    layer: Annotated[str | None, typer.Option("--layer", help="Target layer name (default: automatic).")] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")] = Path("netloupe-out"),
    arch: Annotated[str | None, typer.Option(help="torchvision/timm architecture for --checkpoint.")] = None,
    checkpoint: Annotated[Path | None, typer.Option(help="State-dict file for --arch.")] = None,
    trust_pickle: Annotated[bool, typer.Option(help="Allow loading a full pickled model (runs code).")] = False,
    device: Annotated[str, typer.Option(help="auto, cpu, cuda, cuda:N.")] = "auto",
    batch_size: Annotated[int, typer.Option(min=1, help="Inputs per pass.")] = 8,
    figures: Annotated[bool, typer.Option(help="Also write one top-k figure per method.")] = True,
    window: Annotated[
        str | None, typer.Option(help="DICOM/NIfTI window: lung, mediastinum, bone, brain, soft-tissue or C,W.")
    ] = None,
    frame: Annotated[int | None, typer.Option(help="Multi-frame DICOM: the frame to explain.")] = None,
    volume: Annotated[int | None, typer.Option(help="4-D NIfTI: the volume to explain.")] = None,
    slice_axis: Annotated[
        int | None, typer.Option(help="3-D input, 2-D model: slice perpendicular to this axis.")
    ] = None,
    slice_index: Annotated[int | None, typer.Option(help="3-D input: slice index (default: middle).")] = None,
    threads: Threads = None,
    layout: LayoutOption = "auto",
    output: OutputOption = None,
) -> None:
    """Explain why the model predicts what it predicts, for each input file."""
    from ..errors import InputError
    from ..io.medical import check_medical_options
    from ..pipeline import MedicalOptions, build_request, explain_to_folder

    if out.exists() and not out.is_dir():
        raise InputError(f"--out: {out} is a file; give a folder (it is created when missing)")
    check_medical_options(
        images, window=window, frame=frame, volume=volume, slice_axis=slice_axis, slice_index=slice_index
    )
    methods = parse_methods(method)
    dev = parse_device(device)
    set_threads(threads)
    loaded = load_cli_model(model, arch, checkpoint, trust_pickle)
    request = build_request(
        loaded,
        methods,
        top_k=top_k,
        target=parse_target(target),
        layer=layer,
        device=dev,
        batch_size=batch_size,
        output=parse_output(output),
        layout=parse_layout(layout),
    )
    if request.method_reason and request.methods != (DEFAULT_METHOD,):  # say so when the choice is not Grad-CAM
        console.print(f"method: {', '.join(request.methods)} ({request.method_reason})", highlight=False)
    medical = MedicalOptions(window, frame, volume, slice_axis, slice_index)
    for path in images:  # a CT into the ImageNet model, a colour photo into a grey X-ray model: say so
        warning = _mismatch(loaded, path)
        if warning:
            console.print("[yellow]warning:[/] ", end="", highlight=False)
            console.print(f"{path.name}: {warning}", markup=False, highlight=False)
    with progress() as bar:
        task = bar.add_task("explaining", total=len(images))
        on_pass = pass_callback(bar, "extra passes") if any(_extra_passes(m) for m in request.methods) else None
        manifest, stats = explain_to_folder(
            images,
            request,
            out,
            figures=figures,
            medical=medical,
            on_progress=lambda n: bar.advance(task, n),
            on_pass=on_pass,
        )
    for rec in stats.records:
        if rec.get("status") == "done":
            preds = " / ".join(
                f"{p['label']} {p['probability']:.2f}" if p["probability"] is not None else str(p["label"])
                for p in rec["predictions"]
            )
            console.print(f"[bold]{rec['id']}[/]: {preds}", highlight=False)
    failed = stats.failed
    for rec in failed[:_MAX_LISTED]:
        print_error(f"{rec['source']}: {_reason(rec)}")
    if manifest is None:  # nothing could be explained: nothing was written
        raise typer.Exit(2)
    console.print(f"wrote {manifest}", highlight=False)
    if failed:
        more = f" (first {_MAX_LISTED} listed)" if len(failed) > _MAX_LISTED else ""
        console.print(f"{len(failed)} of {len(images)} inputs failed{more}; see {manifest}", highlight=False)
        raise typer.Exit(2)


def _extra_passes(method: str) -> bool:
    """Perturbation methods (Score-CAM, Ablation-CAM, Smooth Grad-CAM++) run many extra forward passes."""
    from ..cam.registry import get_method

    return type(get_method(method)).extra_passes is not CAMMethod.extra_passes


def _mismatch(loaded: LoadedModel, path: Path) -> str | None:
    """The input-kind warning for ``path``; None when it fits or cannot be read (the job records that)."""
    from ..models.compat import input_mismatch_warning

    try:
        return input_mismatch_warning(loaded, path)
    except Exception:
        return None


def _reason(record: dict[str, object]) -> str:
    """A failure's reason without the exception type the manifest keeps (one line for a person)."""
    reason = str(record.get("reason", ""))
    head, sep, rest = reason.partition(": ")
    return rest if sep and head.isidentifier() and head[:1].isupper() else reason


def register(app: typer.Typer) -> None:
    app.command("explain")(explain_command)
