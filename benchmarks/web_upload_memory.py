"""Peak memory (tracemalloc) of decoding one DICOM/NIfTI upload in the web app; see results/web/README.md.

Run from the repository root: PYTHONPATH=src:. python benchmarks/web_upload_memory.py [MAX_VOXELS]
"""

import sys
import tempfile
import tracemalloc
from pathlib import Path

from tests.fixtures.bad_inputs import rle_dicom, zero_nifti_gz
from tests.web.conftest import tiny_settings

from netloupe.web.inputs import decode_upload

d = Path(tempfile.mkdtemp())
cases = {
    "dicom 2048x2048 RLE (65 kB)": rle_dicom(d / "a.dcm", 2048, 2048).read_bytes(),
    "dicom 4096x4096 RLE (262 kB)": rle_dicom(d / "b.dcm", 4096, 4096).read_bytes(),
    "nifti.gz 160^3 uint8 (4 kB)": zero_nifti_gz((160, 160, 160)),
    "nifti.gz 256^3 uint8 (16 kB)": zero_nifti_gz((256, 256, 256)),
}
settings = tiny_settings(**({"max_voxels": int(sys.argv[1])} if len(sys.argv) > 1 else {}))
for name, data in cases.items():
    tracemalloc.start()
    tracemalloc.reset_peak()
    try:
        decode_upload(data, "x", settings)
        res = "accepted"
    except Exception as e:
        res = f"{type(e).__name__} {getattr(e, 'status', '')}"
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    print(f"| {name} | {len(data) / 1024:.0f} kB | {res} | {peak / 2**20:.1f} MB |")
