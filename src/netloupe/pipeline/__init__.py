"""The explain job: one path from any input to any output, used by every front end.

``build_request`` checks and resolves the options once; sources turn photos, DICOM/NIfTI and arrays
into items; the core explains batches of items in one shared pass each; sinks write the results (a
folder with the one manifest, NIfTI in the source geometry, memory for the web app, a chunked store).
See docs/architecture.md.
"""

from .api import ExplainRun, explain_files, explain_images, explain_to_folder, save_results
from .core import ExplainCore, SystematicFailure
from .items import Item, ItemFailure, ItemResult
from .manifest import MANIFEST_NAME, MANIFEST_VERSION, build_manifest, read_manifest, write_manifest
from .request import ExplainRequest, build_request
from .run import JobStats, OnProgress, StopFlag, run_batches
from .sinks import FolderSink, MemorySink, NiftiSink, Sink
from .sources import MedicalOptions, Reader, decode, file_ids, image_item, medical_item

__all__ = [
    "MANIFEST_NAME",
    "MANIFEST_VERSION",
    "ExplainCore",
    "ExplainRequest",
    "ExplainRun",
    "FolderSink",
    "Item",
    "ItemFailure",
    "ItemResult",
    "JobStats",
    "MedicalOptions",
    "MemorySink",
    "NiftiSink",
    "OnProgress",
    "Reader",
    "Sink",
    "StopFlag",
    "SystematicFailure",
    "build_manifest",
    "build_request",
    "decode",
    "explain_files",
    "explain_images",
    "explain_to_folder",
    "file_ids",
    "image_item",
    "medical_item",
    "read_manifest",
    "run_batches",
    "save_results",
    "write_manifest",
]
