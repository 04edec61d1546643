"""SentencePiece oracle for test/unit/engine/text/sentencepiece*.test.ts.

usage: sentencepiece_ref.py REQUEST.json OUT.json

REQUEST: {"corpus": path of the training text,
          "models": [{"name", "dir", "options": {SentencePieceTrainer options} or null, "restrict": bool}],
          "texts": [str], "decode": [[id]], "repeats": int (optional, for bench/)}
Trains each model into dir/tokenizer.model with sentencepiece (Debian python3-sentencepiece), or
uses the dir/tokenizer.model already there when "options" is null;
with "restrict", the vocabulary is then limited by set_vocabulary (every third merged piece
becomes UNUSED) and the restricted model is the one saved;
then writes per model: the ids and pieces of each text, the decode of those ids, and the
decode of each extra id list of "decode" (ids above the vocabulary are taken modulo its size).
With "repeats", also the best of that many timed runs (seconds) of loading the model, encoding
all texts and decoding them. One process for a whole test file: training and encoding are batched here.
"""

import json
import os
import sys
import time

import sentencepiece as spm


def main() -> None:
    request_path, out_path = sys.argv[1], sys.argv[2]
    with open(request_path, encoding="utf-8") as f:
        request = json.load(f)
    result = {"version": spm.__version__, "models": {}}
    for model in request["models"]:
        if model.get("options") is not None:
            train(request["corpus"], model["dir"], model["options"])
        sp = spm.SentencePieceProcessor(model_file=os.path.join(model["dir"], "tokenizer.model"))
        if model.get("restrict"):
            pieces = [sp.id_to_piece(i) for i in range(sp.get_piece_size())]
            sp.set_vocabulary([p for i, p in enumerate(pieces) if i % 3 != 0])
            with open(os.path.join(model["dir"], "tokenizer.model"), "wb") as f:
                f.write(sp.serialized_model_proto())
        size = sp.get_piece_size()
        encoded = [sp.encode(t) for t in request["texts"]]
        extra = [[i % size for i in ids] for ids in request["decode"]]
        result["models"][model["name"]] = {
            "size": size,
            "bos": sp.bos_id(),
            "eos": sp.eos_id(),
            "unk": sp.unk_id(),
            "pieces": [sp.id_to_piece(i) for i in range(size)],
            "ids": encoded,
            "decoded": [sp.decode(ids) for ids in encoded],
            "extraIds": extra,
            "extraDecoded": [sp.decode(ids) for ids in extra],
        }
        if request.get("repeats"):
            result["models"][model["name"]]["seconds"] = timings(model["dir"], request["texts"], encoded, request["repeats"])
    with open(out_path, "w", encoding="utf-8") as f:
        json.dump(result, f, ensure_ascii=False)


def train(corpus: str, folder: str, options: dict) -> None:
    prefix = os.path.join(folder, "tokenizer")
    os.makedirs(folder, exist_ok=True)
    spm.SentencePieceTrainer.train(input=corpus, model_prefix=prefix, minloglevel=2, num_threads=1, **options)
    os.replace(prefix + ".model", os.path.join(folder, "tokenizer.model"))
    os.remove(prefix + ".vocab")


def timings(folder: str, texts: list, encoded: list, repeats: int) -> dict:
    def best(run) -> float:
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            run()
            times.append(time.perf_counter() - start)
        return min(times)

    path = os.path.join(folder, "tokenizer.model")
    sp = spm.SentencePieceProcessor(model_file=path)
    return {
        "load": best(lambda: spm.SentencePieceProcessor(model_file=path)),
        "encode": best(lambda: [sp.encode(t) for t in texts]),
        "decode": best(lambda: [sp.decode(ids) for ids in encoded]),
    }


if __name__ == "__main__":
    main()
