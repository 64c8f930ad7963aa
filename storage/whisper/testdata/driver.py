# Applies whisper operations read as JSON lines from stdin with Debian's
# whisper.py and answers each with one JSON line: the reference side of
# interop_test.go.
import json
import sys

import whisper

for line in sys.stdin:
    op = json.loads(line)
    out = {}
    try:
        kind = op["op"]
        if kind == "create":
            whisper.create(op["path"], [tuple(a) for a in op["archives"]],
                           xFilesFactor=op["xff"], aggregationMethod=op["agg"],
                           sparse=op.get("sparse", False))
        elif kind == "update":
            whisper.update(op["path"], op["value"], op["ts"], now=op["now"])
        elif kind == "update_many":
            whisper.update_many(op["path"], [tuple(p) for p in op["points"]], now=op["now"])
        elif kind == "fetch":
            r = whisper.fetch(op["path"], op["from"], op["until"], now=op["now"])
            out["result"] = None if r is None else [list(r[0]), r[1]]
        elif kind == "merge":
            whisper.merge(op["src"], op["dst"], op["from"], op["until"], now=op["now"])
        elif kind == "info":
            out["result"] = whisper.info(op["path"])
    except whisper.WhisperException as e:
        out["error"] = type(e).__name__ + ": " + str(e)
    sys.stdout.write(json.dumps(out) + "\n")
    sys.stdout.flush()
