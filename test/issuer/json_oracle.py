"""Reads a JSON list of texts on stdin and says, for each, what Python's json module finds in it.

An implementation independent of issuer/json.ts, for test/issuer/json.test.ts: for each text, whether
it parses, the repeated member names (object_pairs_hook sees every pair, before any is dropped), and
whether any key or string holds a lone surrogate (Python joins valid escaped pairs into one character).
"""

import json
import sys


def surrogate(text):
    return any(0xD800 <= ord(c) <= 0xDFFF for c in text)


def holds_surrogate(value):
    """Whether any string or key in a parsed value holds a lone surrogate."""
    if isinstance(value, str):
        return surrogate(value)
    if isinstance(value, list):
        return any(holds_surrogate(v) for v in value)
    if isinstance(value, dict):
        return any(surrogate(k) or holds_surrogate(v) for k, v in value.items())
    return False


def main():
    out = []
    for text in json.load(sys.stdin):
        repeated = []
        lone = [False]

        def pairs(items):
            seen = set()
            for key, value in items:
                if key in seen:
                    repeated.append(key)
                seen.add(key)
                # Checked here: a repeated key's earlier value is dropped from the result.
                if surrogate(key) or holds_surrogate(value):
                    lone[0] = True
            return dict(items)

        try:
            value = json.loads(text, object_pairs_hook=pairs)
        except ValueError:
            out.append({"ok": False})
            continue
        if holds_surrogate(value):
            lone[0] = True
        out.append({"ok": True, "repeated": repeated, "lone": lone[0]})
    json.dump(out, sys.stdout, ensure_ascii=True)


main()
