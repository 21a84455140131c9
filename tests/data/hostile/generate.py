#!/usr/bin/env python3
"""Writes the hostile flow files that are too large or too repetitive to write by hand.

Run from anywhere; it rewrites its outputs next to itself. Each output's expected diagnostic is
in NAME.expected, written by hand (see README.md).
"""
from pathlib import Path

HERE = Path(__file__).resolve().parent

HEADER = "name: hostile\nversion: 1\nsteps:\n"


def write(name: str, data) -> None:
    (HERE / name).write_bytes(data if isinstance(data, bytes) else data.encode())


# 10,000 levels of block sequences on one line: `- - - ... x`.
write("dash_chain_10k.yaml", "- " * 10_000 + "x\n")

# 10,000 levels of flow sequences, never closed, and of flow maps.
write("deep_flow_sequence_10k.yaml", "[" * 10_000 + "\n")
write("deep_flow_map_10k.yaml", "{a: " * 10_000 + "x" + "}" * 10_000 + "\n")

# 100 levels of block maps, each indented one space more.
write("deep_block_map.yaml", "".join(" " * level + "k:\n" for level in range(100)) + " " * 100 + "x\n")

# Wide: a payload list of 110,000 empty lists, more nodes than the limit, in 440 KB.
write("wide_list.yaml", HEADER + "  - name: a\n    publish:\n      event: x.y\n      payload: ["
      + "[]," * 110_000 + "[]]\n")

# 9,000 command steps with compensations, no alias: 15 nodes a step, 135,007 in all.
steps = "".join(f"  - name: s{i}\n    command: {{ service: s, name: c }}\n"
                f"    compensation: {{ service: s, name: undo }}\n" for i in range(9_000))
write("steps_9000.yaml", "name: many_steps\nversion: 1\nsteps:\n" + steps)

# 2 MiB: a valid flow followed by a comment.
write("two_mib.yaml", HEADER + "  - name: a\n    publish: { event: x.y }\n# "
      + "x" * (2 << 20) + "\n")

# A scalar of a million characters whose closing quote never comes.
write("huge_scalar.yaml", HEADER + "  - name: a\n    publish: { event: x.y }\ndescription: \""
      + "lol " * 250_000 + "\n")

# Only line breaks, CR LF.
write("crlf_only.yaml", b"\r\n" * 1000)

# Wide shapes that a verifier could make quadratic: a parallel of 5,500 branches after 5,500
# steps (each branch must see the steps before it), and a wait whose 45,000 failure events are
# each checked against its 45,000 events. Each ends with one mistake so that it is refused.
steps = "".join(f"  - name: s{i}\n    publish: {{ event: x.y }}\n" for i in range(5_500))
branches = "".join(f"      - - name: b{i}\n          publish: {{ event: x.y }}\n"
                   for i in range(5_500))
write("parallel_wide.yaml", HEADER + steps + "  - name: p\n    parallel:\n" + branches
      + "  - name: end\n")
write("wait_wide.yaml", HEADER + "  - name: a\n    wait:\n      events: ["
      + ",".join(f"e{i}" for i in range(45_000)) + "]\n      failure_events: ["
      + ",".join(f"f{i}" for i in range(45_000)) + ",e0]\n"
      + "      correlate: $input.x\n      key: $event.x\n      timeout: 1m\n")
