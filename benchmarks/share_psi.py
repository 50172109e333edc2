"""Private set intersection vs keyed hashes, N identifiers per side.

Runs the three PSI rounds (request, respond, finish), each from raw values through
normalisation, its file text and strict parser as the CLI does, and the keyed-hash export + match on the same sets, and
prints seconds per step and the PSI/keyed ratio. Each PSI round costs one X25519
multiplication per identifier handled (4 N in all for N per side).

    .venv/bin/python benchmarks/share_psi.py                 # 10,000 per side
    .venv/bin/python benchmarks/share_psi.py --n 50000 --overlap 0.05
"""

from __future__ import annotations

import argparse
import json
import random
import secrets
import time


def _phones(n: int, rng: random.Random) -> list[tuple[str, str]]:
    out: set[tuple[str, str]] = set()
    while len(out) < n:
        out.add(("phone", f"+614{rng.randrange(10**8):08d}"))
    return sorted(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000, help="identifiers per side")
    parser.add_argument("--overlap", type=float, default=0.1, help="share held by both")
    args = parser.parse_args()

    from daybreak.sharing import export_lines, match, parse_lines, prepare
    from daybreak.sharing.psi import (
        Mode,
        finish,
        parse_request,
        parse_response,
        parse_state,
        respond,
        start,
    )

    rng = random.Random(1)
    common = _phones(round(args.n * args.overlap), rng)
    mine = sorted({*common, *_phones(args.n - len(common), rng)})
    theirs = sorted({*common, *_phones(args.n - len(common), rng)})
    expected = len(set(mine) & set(theirs))
    times: dict[str, float] = {}

    t = time.perf_counter()
    request, state = start(prepare(mine).identifiers, "a", Mode.INTERSECTION)
    request_text, state_text = "\n".join(request.lines()), state.text()
    times["psi_request"] = time.perf_counter() - t
    t = time.perf_counter()
    response = respond(parse_request(request_text, "request"), prepare(theirs).identifiers, "b")
    response_text = "\n".join(response.lines())
    times["psi_respond"] = time.perf_counter() - t
    t = time.perf_counter()
    result = finish(parse_state(state_text), parse_response(response_text, "response"))
    times["psi_finish"] = time.perf_counter() - t
    assert result.size == expected, (result.size, expected)
    psi_total = times["psi_request"] + times["psi_respond"] + times["psi_finish"]

    secret = secrets.token_bytes(32)
    t = time.perf_counter()
    lines, _ = export_lines(secret, "g", theirs)
    found, _ = match(secret, mine, parse_lines(lines))
    times["keyed_export_and_match"] = time.perf_counter() - t
    assert len(found) == expected

    print(json.dumps({
        "per_side": args.n, "in_common": expected,
        "seconds": {k: round(v, 3) for k, v in times.items()},
        "psi_total_s": round(psi_total, 3),
        "psi_over_keyed": round(psi_total / times["keyed_export_and_match"], 1),
        "request_bytes": len(request_text), "response_bytes": len(response_text),
    }, indent=2))  # fmt: skip


if __name__ == "__main__":
    main()
