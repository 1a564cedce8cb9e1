"""Where explained items go: a folder of files, NIfTI in the source geometry, memory, a chunked store."""

from .base import Sink
from .folder import FolderSink, files_present, label_slug
from .memory import MemorySink
from .nifti import NiftiSink

__all__ = ["FolderSink", "MemorySink", "NiftiSink", "Sink", "files_present", "label_slug"]
