"""The Python pipeline fidelity is compared with: the same job, the usual way.

onnxruntime + tokenizers + numpy/scipy: tokenize the test set, run the teacher and every student
batch by batch (batch 32, file order, padding to the longest item of each batch), then accuracy,
label loyalty, probability loyalty (1 - scipy jensenshannon, natural log), mean KL and flip rates
per student. Prints one JSON line with the metrics and the wall time, so a benchmark can check the
numbers agree with fidelity's before comparing times.

Usage: python pipeline.py DATA.jsonl TOKENIZER.json CONFIG.json TEACHER.onnx STUDENT.onnx...
"""

import json
import sys
import time

import numpy as np
import onnxruntime as ort
from scipy.spatial.distance import jensenshannon
from scipy.stats import entropy
from tokenizers import Tokenizer


def probabilities(raw):
    raw = raw.astype(np.float64)
    if np.all(raw >= 0) and np.all(np.abs(raw.sum(1) - 1) <= 1e-4):
        p = raw
    else:
        z = raw - raw.max(1, keepdims=True)
        p = np.exp(z)
    return p / p.sum(1, keepdims=True)


def run(session, encodings, batch=32):
    names = [i.name for i in session.get_inputs()]
    out = []
    for start in range(0, len(encodings), batch):
        chunk = encodings[start:start + batch]
        width = max(len(e.ids) for e in chunk)
        ids = np.zeros((len(chunk), width), np.int64)
        mask = np.zeros_like(ids)
        types = np.zeros_like(ids)
        for r, e in enumerate(chunk):
            ids[r, :len(e.ids)] = e.ids
            mask[r, :len(e.ids)] = 1
            types[r, :len(e.ids)] = e.type_ids
        feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
        out.append(session.run(None, {n: feed[n] for n in names})[0])
    return probabilities(np.concatenate(out))


def main():
    data, tok, config, teacher, *students = sys.argv[1:]
    started = time.perf_counter()
    label2id = json.load(open(config))["label2id"]
    rows = [json.loads(l) for l in open(data, encoding="utf-8") if l.strip()]
    gold = np.array([label2id[r["label"]] for r in rows])
    tokenizer = Tokenizer.from_file(tok)
    encodings = tokenizer.encode_batch([r["text"] for r in rows])
    pt = run(ort.InferenceSession(teacher, providers=["CPUExecutionProvider"]), encodings)
    t_pred = pt.argmax(1)
    result = {"teacher_accuracy": float(np.mean(t_pred == gold)), "students": {}}
    for path in students:
        ps = run(ort.InferenceSession(path, providers=["CPUExecutionProvider"]), encodings)
        s_pred = ps.argmax(1)
        result["students"][path] = {
            "accuracy": float(np.mean(s_pred == gold)),
            "label_loyalty": float(np.mean(s_pred == t_pred)),
            "probability_loyalty": float(np.mean(1 - jensenshannon(pt, ps, axis=1))),
            "mean_kl": float(np.mean(entropy(pt, ps, axis=1))),
            "negative_flip_rate": float(np.mean((t_pred == gold) & (s_pred != gold))),
            "positive_flip_rate": float(np.mean((t_pred != gold) & (s_pred == gold))),
        }
    result["seconds"] = time.perf_counter() - started
    print(json.dumps(result))


if __name__ == "__main__":
    main()
