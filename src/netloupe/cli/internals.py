"""``netloupe filters | activations | features | neighbors | embed | dissect``: what a network learned.

One convention for every command here (as for ``explain``, ``run`` and ``localize``): ``--out``/``-o`` is
an output **folder**, created when missing; each command writes fixed file names inside it (named in its
help). A file name given as ``--out`` (``--out filters.png``) is refused with one clear error line.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

from ..internals.data import ImageSet
from ..io.atomic import atomic_write_text
from ._console import console

if TYPE_CHECKING:
    from ..internals.features import FeatureSet

__all__ = ["register"]

_MODEL_HELP = "zoo model name (see `netloupe models`) or a TorchScript file"

# Options that several commands share (the default stays with each command).
_Model = Annotated[str, typer.Option("--model", "-m", help=_MODEL_HELP)]
_Features = Annotated[Optional[Path], typer.Option("--features", "-f", help="feature .npz to reuse or create")]
_Split = Annotated[Optional[str], typer.Option(help=".npz split, e.g. test")]
_BatchSize = Annotated[int, typer.Option("--batch-size")]
_Device = Annotated[str, typer.Option("--device")]

#: Suffixes that mark a file name, refused as ``--out`` (which is always a folder).
_FILE_SUFFIXES = {".png", ".jpg", ".jpeg", ".svg", ".pdf", ".npz", ".npy", ".json", ".csv", ".txt", ".html"}


def _out_option(default: str, writes: str) -> Any:
    return typer.Option(
        Path(default), "--out", "-o", help=f"output folder (created if missing); writes {writes} inside it"
    )


def out_folder(out: Path, writes: str) -> Path:
    """Check that ``--out`` names a folder (existing, or new and not looking like a file name).

    The folder is created only when the command writes its first file, so a command that fails
    leaves no empty ``--out`` behind.

    Raises:
        InputError: ``out`` is an existing file or looks like a file name (``filters.png``).
    """
    from ..errors import InputError

    if out.exists() and not out.is_dir():
        raise InputError(f"--out: expected a folder (this command writes {writes} inside it), got the file {out}")
    if not out.exists() and out.suffix.lower() in _FILE_SUFFIXES:
        raise InputError(
            f"--out: expected a folder (this command writes {writes} inside it), got {out}, which looks like a "
            f"file name; pass a folder, e.g. --out {out.with_suffix('')}"
        )
    return out


def _load(model: str, device: str):  # type: ignore[no-untyped-def]
    from ..models.zoo import load_model

    return load_model(model).to(device)


def _device(text: str) -> str:
    """``auto``, ``cpu``, ``cuda``, ``cuda:N`` -> a device string (clear error when CUDA is absent)."""
    from ._options import parse_device

    return str(parse_device(text))


def _open_data(
    data: Path, split: Optional[str], label_column: Optional[str], mask_columns: Optional[list[str]] = None
) -> ImageSet:
    from ..internals.data import load_image_set

    return load_image_set(data, split=split, label_column=label_column, mask_columns=mask_columns)


def _features(
    model: str, images: ImageSet, features: Optional[Path], layer: str, batch_size: int, device: str
) -> FeatureSet:
    """Reuse a saved feature file when it matches the data, else load ``model``, extract (and save when a
    path is given)."""
    from ..errors import InputError
    from ..internals.features import FeatureSet, extract_features

    if features is not None and features.exists():
        fs = FeatureSet.load(features)
        if len(fs) != len(images):
            raise InputError(f"features: {features} holds {len(fs)} vectors but the data has {len(images)} images")
        console.print(f"features: reusing {features} ({fs.model}, layer {fs.layer})")
        return fs
    loaded = _load(model, device)
    if images.class_names is None and images.labels is not None and len(loaded.class_names) > images.labels.max():
        images.class_names = list(loaded.class_names)  # unnamed labels (e.g. .npz) take the model's class names
    start = time.perf_counter()
    fs = extract_features(
        loaded.model,
        images,
        loaded.preprocess,
        layer=layer,
        batch_size=batch_size,
        device=device,
        progress=True,
        model_name=loaded.name,
    )
    console.print(f"features: {fs.features.shape[0]} x {fs.features.shape[1]} in {time.perf_counter() - start:.1f} s")
    if features is not None:
        fs.save(features)
        console.print(f"features: saved {features}")
    return fs


def register(app: typer.Typer) -> None:
    """Add the internals commands to ``app``."""

    @app.command("filters")
    def filters(
        model: _Model = "efficientnet-lite0",
        layer: Optional[str] = typer.Option(None, "--layer", "-l", help="conv layer (default: the first conv)"),
        out: Path = _out_option("filters", "filters.png"),
        mode: str = typer.Option("auto", help="auto | rgb | channels | mean | norm"),
        scale: str = typer.Option("shared", help="shared (one range per layer) | per-filter (each tile min-max)"),
        max_filters: int = typer.Option(64, help="draw at most this many filters"),
        max_channels: int = typer.Option(16, help="'channels' mode: at most this many input channels"),
    ) -> None:
        """Draw a conv layer's kernels as a grid (first layer as RGB tiles)."""
        from ..internals.figures import filters_figure, save_figure

        folder = out_folder(out, "filters.png")
        loaded = _load(model, "cpu")
        fig = filters_figure(loaded.model, layer, mode, scale, max_filters, max_channels, title=loaded.name)  # type: ignore[arg-type]
        console.print(f"wrote {save_figure(fig, folder / 'filters.png')}")

    @app.command("activations")
    def activations(
        image: Path = typer.Argument(..., help="input image"),
        layer: str = typer.Option(..., "--layer", "-l", help="layer with spatial output, e.g. blocks.3"),
        model: _Model = "efficientnet-lite0",
        out: Path = _out_option("activations", "activations.png"),
        n_maps: int = typer.Option(32, "--n-maps", help="draw the N strongest channels"),
        device: _Device = "cpu",
    ) -> None:
        """Draw one layer's feature maps for one image."""
        device = _device(device)
        from ..internals.data import open_image
        from ..internals.figures import activations_figure, save_figure

        folder = out_folder(out, "activations.png")
        loaded = _load(model, device)
        if not image.exists():
            raise FileNotFoundError(2, "No such file or directory", str(image))
        fig = activations_figure(loaded.model, open_image(image), loaded.preprocess, layer, n_maps, device)
        console.print(f"wrote {save_figure(fig, folder / 'activations.png')}")

    @app.command("features")
    def features(
        data: Path = typer.Argument(..., help="image folder, CSV or .npz"),
        out: Path = _out_option("features", "features.npz (reuse it with --features FOLDER/features.npz)"),
        model: _Model = "efficientnet-lite0",
        layer: str = typer.Option("penultimate", "--layer", "-l", help="'penultimate' or a layer (pooled)"),
        split: _Split = None,
        label_column: Optional[str] = typer.Option(None, help="CSV label column"),
        batch_size: _BatchSize = 32,
        device: _Device = "cpu",
    ) -> None:
        """Extract one feature vector per image into a reusable .npz."""
        device = _device(device)
        folder = out_folder(out, "features.npz")
        images = _open_data(data, split, label_column)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "features.npz").unlink(missing_ok=True)
        _features(model, images, folder / "features.npz", layer, batch_size, device)

    @app.command("neighbors")
    def neighbors(
        data: Path = typer.Argument(..., help="image folder, CSV or .npz (labels needed for the accuracy)"),
        model: _Model = "efficientnet-lite0",
        features: _Features = None,
        layer: str = typer.Option("penultimate", "--layer", "-l"),
        k: int = typer.Option(5, "-k", help="neighbours per query"),
        metric: str = typer.Option("l2", help="l2 | cosine"),
        queries: int = typer.Option(8, help="query rows in the figure"),
        pixel_size: int = typer.Option(32, help="pixel space: images resized to this square size"),
        split: _Split = None,
        label_column: Optional[str] = typer.Option(None),
        out: Path = _out_option("neighbors", "neighbors.png and neighbors.json (the k-NN accuracies)"),
        seed: int = typer.Option(0, help="query choice"),
        batch_size: _BatchSize = 32,
        device: _Device = "cpu",
    ) -> None:
        """Nearest neighbours in feature space vs pixel space: a figure and the k-NN accuracies."""
        device = _device(device)
        from ..errors import InputError
        from ..internals.features import pixel_vectors
        from ..internals.figures import neighbors_comparison_figure, pick_queries, save_figure
        from ..internals.neighbors import compare_spaces

        folder = out_folder(out, "neighbors.png and neighbors.json")
        images = _open_data(data, split, label_column)
        if images.labels is None:
            raise InputError(
                f"data: {data} has no labels; the k-NN accuracy needs them (folder per class, CSV label column)"
            )
        fs = _features(model, images, features, layer, batch_size, device)
        start = time.perf_counter()
        pixels = pixel_vectors(images, (pixel_size, pixel_size))
        comp = compare_spaces(fs.features, pixels, images.labels, k=k, metric=metric, device=device)  # type: ignore[arg-type]
        elapsed = time.perf_counter() - start
        q = pick_queries(len(images), images.labels, queries, seed)
        fig = neighbors_comparison_figure(images, comp, q.tolist(), images.labels)
        figure = save_figure(fig, folder / "neighbors.png")
        console.print(f"k={k} {metric}, {len(images)} images (leave-one-out), pixel space {pixel_size}x{pixel_size}:")
        console.print(f"  label agreement  feature {comp.feature_agreement:.4f}  pixel {comp.pixel_agreement:.4f}")
        console.print(f"  k-NN accuracy    feature {comp.feature_accuracy:.4f}  pixel {comp.pixel_accuracy:.4f}")
        payload = {
            **comp.as_dict(),
            "n_images": len(images),
            "pixel_size": pixel_size,
            "model": fs.model,
            "layer": fs.layer,
            "data": str(data),
        }
        atomic_write_text(folder / "neighbors.json", json.dumps(payload, indent=2) + "\n")
        console.print(f"  search + pixels {elapsed:.1f} s; wrote {figure} and {folder / 'neighbors.json'}")

    @app.command("embed")
    def embed(
        data: Path = typer.Argument(..., help="image folder, CSV or .npz"),
        model: _Model = "efficientnet-lite0",
        features: _Features = None,
        layer: str = typer.Option("penultimate", "--layer", "-l"),
        method: str = typer.Option("tsne", help="pca | tsne | umap"),
        perplexity: float = typer.Option(30.0, help="t-SNE perplexity"),
        metric: str = typer.Option("euclidean", help="t-SNE metric: euclidean | cosine"),
        grid: int = typer.Option(30, help="thumbnail map: cells per side"),
        thumb: int = typer.Option(32, help="thumbnail size in pixels"),
        split: _Split = None,
        label_column: Optional[str] = typer.Option(None),
        out: Path = _out_option("embedding", "METHOD_coords.csv, METHOD_scatter.png and METHOD_thumbnails.png"),
        seed: int = typer.Option(0),
        batch_size: _BatchSize = 32,
        device: _Device = "cpu",
    ) -> None:
        """2-D map of the feature space: scatter by label, thumbnail map and coordinates CSV."""
        device = _device(device)
        from ..internals.embed import make_embedding
        from ..internals.figures import save_coordinates, save_figure, save_image
        from ..viz.scatter import embedding_scatter, thumbnail_map

        out_dir = out_folder(out, f"{method}_coords.csv, {method}_scatter.png and {method}_thumbnails.png")
        images = _open_data(data, split, label_column)
        fs = _features(model, images, features, layer, batch_size, device)
        kwargs: dict[str, object] = {"random_state": seed}
        if method == "tsne":
            kwargs.update(perplexity=perplexity, metric=metric, device=device)
        start = time.perf_counter()
        coords = make_embedding(method, **kwargs).fit_transform(fs.features)
        console.print(f"{method}: {len(coords)} points in {time.perf_counter() - start:.1f} s")
        out_dir.mkdir(parents=True, exist_ok=True)
        save_coordinates(out_dir / f"{method}_coords.csv", coords, fs.names, fs.labels, fs.class_names)
        save_figure(
            embedding_scatter(
                coords,
                fs.labels,
                fs.class_names,
                title=f"{method} of {fs.model} {fs.layer} features ({len(coords)} images)",
            ),
            out_dir / f"{method}_scatter.png",
        )
        save_image(
            thumbnail_map(coords, images.image, grid, thumb, labels=fs.labels),
            out_dir / f"{method}_thumbnails.png",
        )
        console.print(f"wrote {out_dir}/{method}_coords.csv, {method}_scatter.png, {method}_thumbnails.png")

    @app.command("dissect")
    def dissect(
        data: Path = typer.Argument(..., help="CSV with an image column and mask column(s)"),
        layer: str = typer.Option(..., "--layer", "-l", help="conv layer to dissect"),
        mask_column: list[str] = typer.Option(["mask"], "--mask-column", help="concept mask column(s)"),
        complement: bool = typer.Option(False, help="also score each concept's complement ('not <concept>')"),
        model: _Model = "efficientnet-lite0",
        quantile: float = typer.Option(0.005, help="top activation quantile per unit (Bau et al.: 0.005)"),
        iou_threshold: float = typer.Option(0.04, help="detector IoU threshold (Bau et al.: 0.04)"),
        mask_size: int = typer.Option(112, help="IoU measured on masks resized to this square size"),
        out: Path = _out_option("dissection", "units.csv and detectors.png"),
        batch_size: _BatchSize = 16,
        device: _Device = "cpu",
    ) -> None:
        """Network dissection: per-unit IoU with concept masks, detectors and their top images."""
        device = _device(device)
        import csv
        import io

        from ..internals.data import with_complements
        from ..internals.dissection import NetworkDissection
        from ..internals.figures import dissection_detectors_figure, save_figure

        out_dir = out_folder(out, "units.csv and detectors.png")
        images = _open_data(data, None, None, mask_column)
        if complement:
            images = with_complements(images)
        loaded = _load(model, device)
        start = time.perf_counter()
        diss = NetworkDissection(
            loaded.model,
            layer,
            loaded.preprocess,
            quantile,
            iou_threshold,
            (mask_size, mask_size),
            batch_size,
            device,
        ).fit(images, progress=True)
        console.print(
            f"dissection: {len(images)} images, {diss.iou_.shape[0]} units in "
            f"{time.perf_counter() - start:.1f} s; "
            f"{len(diss.detectors_)} detectors (IoU > {iou_threshold})"
        )
        rows = diss.summary()
        buf = io.StringIO(newline="")
        w = csv.DictWriter(buf, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
        out_dir.mkdir(parents=True, exist_ok=True)
        atomic_write_text(out_dir / "units.csv", buf.getvalue())
        for det in diss.detectors_[:10]:
            console.print(f"  unit {det.unit:5d} -> {det.concept:20s} IoU {det.iou:.3f}")
        if diss.detectors_:
            save_figure(dissection_detectors_figure(diss, images), out_dir / "detectors.png")
        console.print(f"wrote {out_dir}/units.csv" + (", detectors.png" if diss.detectors_ else ""))
