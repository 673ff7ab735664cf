"""Pillow + numpy preprocessing of image files, timed: what fidelity's decode + preprocessing is
compared with (benches/images.rs). The steps are fixtures/image_reference.py's Preprocessor (the
Hugging Face processor's steps written out: open, exif_transpose, convert("RGB"), resize, center
crop, rescale, normalise, CHW), single-threaded as a Python loop runs.

Usage: python image_preprocessing.py MODEL_DIR IMAGE... ; prints one JSON line {"seconds", "images"}.
"""

import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "fixtures"))
from image_reference import Preprocessor  # noqa: E402

model, paths = Path(sys.argv[1]), [Path(p) for p in sys.argv[2:]]
pre = Preprocessor(model)
started = time.perf_counter()
out = [pre(p) for p in paths]
print(json.dumps({"seconds": time.perf_counter() - started, "images": len(out)}))
