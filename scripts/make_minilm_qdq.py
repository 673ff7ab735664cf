#!/usr/bin/env python3
"""fixtures/minilm/ort_qdq.onnx: the MiniLM teacher statically quantized by ONNX Runtime
(``quantize_static``, QDQ format, uint8 activations, int8 weights per channel, MinMax calibration
on 64 tweets that are not among the suite's 300 test rows), for ``fidelity locate``'s real-model
test. Run by scripts/make_minilm.sh after make_minilm.py, in its venv; not part of the suite's
students (the committed MiniLM report stays as it is).
"""

import json
import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort
from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
from tokenizers import Tokenizer

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "fixtures" / "minilm"
TWEETS_TEST = ROOT / "fixtures" / "tweets" / "test.jsonl"
CALIBRATION = 64


class Rows(CalibrationDataReader):
    def __init__(self, feeds):
        self.feeds = iter(feeds)

    def get_next(self):
        return next(self.feeds, None)


def main():
    if ort.__version__ != "1.31.1":
        sys.exit(f"onnxruntime 1.31.1 required, found {ort.__version__}")
    tok = Tokenizer.from_file(str(OUT / "tokenizer.json"))
    lines = [line for line in TWEETS_TEST.read_text(encoding="utf-8").split("\n") if line]
    # The suite's test rows are the first 300: calibrate on the last 64 of the file.
    feeds = []
    for line in lines[-CALIBRATION:]:
        e = tok.encode(json.loads(line)["text"])
        ids = np.array([e.ids], dtype=np.int64)
        feeds.append({"input_ids": ids, "attention_mask": np.array([e.attention_mask], dtype=np.int64), "token_type_ids": np.array([e.type_ids], dtype=np.int64)})
    quantize_static(
        str(OUT / "teacher.onnx"),
        str(OUT / "ort_qdq.onnx"),
        Rows(feeds),
        quant_format=QuantFormat.QDQ,
        activation_type=QuantType.QUInt8,
        weight_type=QuantType.QInt8,
        per_channel=True,
        op_types_to_quantize=["MatMul", "Add", "Mul", "Div", "Softmax", "Transpose", "Reshape"],
    )
    print(f"fixtures/minilm/ort_qdq.onnx: {(OUT / 'ort_qdq.onnx').stat().st_size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
