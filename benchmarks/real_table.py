"""Markdown tables from `python -m dancemosaic evaluate --json` output (the rows against real dancers).

python benchmarks/real_table.py benchmarks/results_real_starter.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

COLUMNS = (
    ("FID_k", "FID_k", 1), ("FID_g", "FID_g", 1), ("speed_ratio", "speed ratio", 2),
    ("spread_ratio", "spread ratio", 2), ("body_spread_ratio", "body spread ratio", 2),
    ("turning_ratio", "turning ratio", 2), ("style_accuracy", "style acc.", 2),
    ("BAS_librosa_beats", "BAS (librosa)", 3), ("BAS_project_beats", "BAS (ours)", 3), ("FSR", "FSR %", 1),
    ("copy_distance_median_m", "copy dist. (m)", 3), ("copy_share_within_1cm", "copies <1 cm", 2),
    ("training_pool_FID_k", "FID_k vs training pool", 1), ("n_dances", "dances", 0),
)  # fmt: skip


def cell(value: object, digits: int, error: float | None = None) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.{digits}f}" + (f" ± {error:.{digits}f}" if error is not None else "")
    return str(value)


def table(rows: list[dict]) -> str:
    scored = [r for r in rows if "speed_ratio" in r or "n_reference_windows" in r]
    lines = ["| row | " + " | ".join(title for _, title, _ in COLUMNS) + " |"]
    lines.append("| --- " * (len(COLUMNS) + 1) + "|")
    for row in scored:
        cells = [cell(row.get(key), digits, row.get(f"{key}_se")) for key, _, digits in COLUMNS]
        lines.append(f"| {row['name']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def verdicts(rows: list[dict]) -> str:
    lines = []
    for row in rows:
        if "measures" in row:
            probes = [k for k in ("frozen", "shrunk", "statue") if k in next(iter(row["measures"].values()))]
            header = " | ".join(["measure", "real", *probes, "headline (real passes, every probe fails)"])
            lines += ["", f"| {header} |"]
            lines.append("| --- " * (len(probes) + 3) + "|")
            for name, v in row["measures"].items():
                values = [cell(v.get(k), 3) for k in ("real", *probes)]
                lines.append(f"| {name} | " + " | ".join(values) + f" | {'yes' if v['headline'] else 'NO'} |")
        if "met" in row:
            lines += ["", f"**{row['name']}**", "", "| target | met |", "| --- | --- |"]
            lines += [f"| {k} | {'yes' if v else 'no'} |" for k, v in row["met"].items()]
    return "\n".join(lines)


def main() -> None:
    rows = json.loads(Path(sys.argv[1]).read_text())
    rows = rows if isinstance(rows, list) else [rows]
    print(table(rows))
    print(verdicts(rows))


if __name__ == "__main__":
    main()
