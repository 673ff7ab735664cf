#!/usr/bin/env python3
"""Builds src/attack/data/wordnet_synonyms.tsv, fidelity's default synonym table for text attacks.

Input: the WordNet 3.0 database as Debian ships it (`apt-get install -y wordnet-base`):
/usr/share/wordnet/{index,data}.{noun,verb,adj,adv} and cntlist.rev (sense tag counts).
Python 3 standard library only. Run from anywhere:

    python3 src/attack/data/make_synonyms.py [--wordnet /usr/share/wordnet] [--out FILE]

Output: one line per word, sorted by word, `word<TAB>cand1 cand2 ...`:
- keys and candidates are single-word lemmas, lowercase ASCII letters only, at most 20 characters;
  multi-word lemmas (`moving_picture`), hyphenated ones and proper names (lemmas WordNet spells with
  a capital, e.g. `Paris`) are left out;
- a word's candidates are the other lemmas of its synsets, over all four parts of speech (nouns,
  verbs, adjectives with their satellites, adverbs). Synsets are ordered by sense frequency: the
  SemCor tag count of the word's sense (cntlist.rev) descending, then WordNet's own sense order,
  then part of speech (adjective, adverb, verb, noun); within a synset, lemmas keep WordNet's order;
- the word itself and duplicates are removed; at most 30 candidates per word; words without any
  candidate are left out.
The licence is copied next to the table as WORDNET_LICENSE (from /usr/share/doc/wordnet-base/copyright).
"""
import argparse
import os
import re
import sys

POS_FILES = [("adj", "a"), ("adv", "r"), ("verb", "v"), ("noun", "n")]
POS_ORDER = {"a": 0, "s": 0, "r": 1, "v": 2, "n": 3}
SS_TYPE = {"n": 1, "v": 2, "a": 3, "r": 4, "s": 5}
WORD = re.compile(r"^[a-z]{1,20}$")
MAX_CANDIDATES = 30


def clean_lemma(raw):
    """Data-file lemma -> (lowercased lemma with adjective markers such as '(p)' removed, original)."""
    base = re.sub(r"\([a-z]+\)$", "", raw)
    return base.lower(), base


def read_data(path, pos):
    """offset -> (ss_type, lex_filenum, [(lemma, original, lex_id)], head offset for satellites)."""
    synsets = {}
    with open(path, encoding="latin-1") as f:
        for line in f:
            if line.startswith("  "):
                continue  # licence header
            fields = line.split(" | ", 1)[0].split()
            offset, lex_filenum, ss_type = fields[0], int(fields[1]), fields[2]
            w_cnt = int(fields[3], 16)
            words = []
            i = 4
            for _ in range(w_cnt):
                lemma, original = clean_lemma(fields[i])
                words.append((lemma, original, int(fields[i + 1], 16)))
                i += 2
            p_cnt = int(fields[i])
            i += 1
            head = None
            for _ in range(p_cnt):
                symbol, target, target_pos = fields[i], fields[i + 1], fields[i + 2]
                if ss_type == "s" and symbol == "&" and target_pos == "a" and head is None:
                    head = target
                i += 4
            synsets[(pos, offset)] = (ss_type, lex_filenum, words, head)
    return synsets


def read_index(path, pos):
    """lemma -> [offset, ...] in WordNet's sense order (most frequent first)."""
    index = {}
    with open(path, encoding="latin-1") as f:
        for line in f:
            if line.startswith("  "):
                continue
            fields = line.split()
            lemma, synset_cnt, p_cnt = fields[0], int(fields[2]), int(fields[3])
            offsets = fields[4 + p_cnt + 2:]
            assert len(offsets) == synset_cnt, line
            index[lemma] = offsets
    return index


def read_counts(path):
    counts = {}
    with open(path, encoding="latin-1") as f:
        for line in f:
            key, _sense_number, tag_cnt = line.split()
            counts[key] = int(tag_cnt)
    return counts


def sense_key(lemma, synset, synsets):
    ss_type, lex_filenum, words, head = synset
    lex_id = next(l for (w, _, l) in words if w == lemma)
    key = f"{lemma}%{SS_TYPE[ss_type]}:{lex_filenum:02d}:{lex_id:02d}:"
    if ss_type == "s" and head is not None:
        head_words = synsets[("a", head)][2]
        key += f"{head_words[0][0]}:{head_words[0][2]:02d}"
    else:
        key += ":"
    return key


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    here = os.path.dirname(os.path.abspath(__file__))
    parser.add_argument("--wordnet", default="/usr/share/wordnet")
    parser.add_argument("--copyright", default="/usr/share/doc/wordnet-base/copyright")
    parser.add_argument("--out", default=os.path.join(here, "wordnet_synonyms.tsv"))
    parser.add_argument("--license-out", default=os.path.join(here, "WORDNET_LICENSE"))
    args = parser.parse_args()

    synsets = {}
    indexes = {}
    for name, pos in POS_FILES:
        synsets.update(read_data(os.path.join(args.wordnet, f"data.{name}"), pos))
        indexes[pos] = read_index(os.path.join(args.wordnet, f"index.{name}"), pos)
    counts = read_counts(os.path.join(args.wordnet, "cntlist.rev"))

    keys = sorted({w for index in indexes.values() for w in index if WORD.match(w)})
    lines = []
    for word in keys:
        senses = []  # (-tag count, sense rank, pos order, synset)
        for pos, index in indexes.items():
            for rank, offset in enumerate(index.get(word, [])):
                synset = synsets[(pos, offset)]
                count = counts.get(sense_key(word, synset, synsets), 0)
                senses.append((-count, rank, POS_ORDER[pos], offset, synset))
        senses.sort(key=lambda s: s[:4])
        candidates = []
        for *_, synset in senses:
            for lemma, original, _ in synset[2]:
                if lemma == word or lemma in candidates:
                    continue
                if not WORD.match(lemma) or original != lemma:
                    continue  # multi-word, hyphenated, non-ASCII or proper name
                candidates.append(lemma)
        if candidates:
            lines.append(f"{word}\t{' '.join(candidates[:MAX_CANDIDATES])}\n")

    with open(args.out, "w", encoding="ascii", newline="\n") as f:
        f.writelines(lines)

    with open(args.copyright, encoding="utf-8") as f:
        text = f.read()
    block = text.split("License: WordNet3.0\n", 1)[1].split("\n\n", 1)[0]
    body = "\n".join("" if l.strip() == "." else l[1:] for l in block.splitlines())
    with open(args.license_out, "w", encoding="utf-8", newline="\n") as f:
        f.write("WordNet 3.0 licence (the table wordnet_synonyms.tsv is derived from WordNet 3.0,\n"
                "as shipped by Debian's wordnet-base package; source: http://wordnet.princeton.edu/)\n\n")
        f.write(body.rstrip() + "\n")
    print(f"{len(lines)} words, {os.path.getsize(args.out)} bytes -> {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
