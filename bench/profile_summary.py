"""Top frames of a py-spy profile and top allocators of a memray capture, as plain text.

    .venv/bin/python bench/profile_summary.py cpu PROFILE.py-spy.txt [--top 10]
    .venv/bin/python bench/profile_summary.py mem PROFILE.memray.bin [--top 10]

bench/run.py --profile-cpu DIR / --profile-mem DIR writes these captures and runs this on each of them
(DIR/<capture>.summary.txt).

cpu: py-spy's collapsed stacks ("raw": `frame;frame;... count` per line, root first). A sample is one
look at a thread that was running (py-spy leaves idle threads out), so a share of samples is a share of
the operator's CPU time. For each function (file and name, lines merged): "own" counts the samples in
which it was the innermost frame, "cumulative" those in which it was anywhere on the stack (once per
sample, however often it recurs). Also by package (the innermost frame's top-level module), so that the
operator's own code, kopf, aiohttp and the rest can be weighed against each other.

mem: memray's allocation records at the high-water mark of the heap (the moment the traced memory was
largest): for each allocating location, the bytes it held then and how many allocations. "own" groups by
the innermost Python frame; "cumulative" by every frame on the stack; "by package" by the innermost frame
of the operator's dependencies or itself that is not the standard library (who asked for the memory).
"""

from __future__ import annotations

import argparse
import re
import sys
import sysconfig
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

# Frames every stack of the running operator passes through (the interpreter's entry, click, kopf's
# run, the event loop's dispatch): left out of the cumulative lists, where they would fill the top.
_ENTRY = re.compile(
    r"^(<frozen runpy>|click/|twilio_operator/cli\.py|twilio_operator/process/launch\.py|kopf/cli\.py"
    r"|kopf/_core/reactor/running\.py: run$|asyncio/runners\.py|asyncio/base_events\.py: "
    r"(BaseEventLoop\.)?(run_forever|run_until_complete|_run_once)$|asyncio/events\.py: (Handle\.)?_run$"
    r"|threading\.py: (Thread\.)?(_bootstrap|_bootstrap_inner|run)$|memray/)"
)
_FRAME = re.compile(r"^(?P<func>.*) \((?P<file>[^()]*?)(?::(?P<line>\d+))?\)$")
_STDLIB = Path(sysconfig.get_paths()["stdlib"]).as_posix()


def _function(frame: str) -> str:
    """'JSONEncoder.iterencode (json/encoder.py:258)' -> 'json/encoder.py: JSONEncoder.iterencode'."""
    match = _FRAME.match(frame)
    if not match:
        return frame
    return f"{match['file']}: {match['func']}"


def _package(function: str) -> str:
    path = function.split(":", 1)[0]
    if path.startswith("<"):
        return path
    head = path.split("/", 1)[0]
    return head.removesuffix(".py")


def read_collapsed(path: Path) -> list[tuple[list[str], int]]:
    stacks: list[tuple[list[str], int]] = []
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        stacks.append(([_function(f) for f in stack.split(";")], int(count)))
    return stacks


def _rows(counter: Counter[str], total: int, top: int, unit: str = "samples") -> list[str]:
    width = max((len(f"{n:,}") for _, n in counter.most_common(top)), default=1)
    return [f"  {100 * n / total:5.1f} %  {n:>{width},} {unit}  {key}" for key, n in counter.most_common(top)]


def cpu_summary(path: Path, top: int = 10) -> str:
    stacks = read_collapsed(path)
    total = sum(n for _, n in stacks)
    if not total:
        return f"{path.name}: no samples\n"
    own: Counter[str] = Counter()
    cumulative: Counter[str] = Counter()
    packages: Counter[str] = Counter()
    for frames, n in stacks:
        own[frames[-1]] += n
        packages[_package(frames[-1])] += n
        for function in set(frames):
            cumulative[function] += n
    informative = Counter({f: n for f, n in cumulative.items() if not _ENTRY.match(f)})
    lines = [
        f"{path.name}: {total:,} samples (py-spy, {len(stacks):,} distinct stacks)",
        "",
        f"top {top} functions by own CPU (innermost frame):",
        *_rows(own, total, top),
        "",
        f"top {top} functions by cumulative CPU (anywhere on the stack; entry points left out):",
        *_rows(informative, total, top),
        "",
        "own CPU by package (innermost frame's top-level module):",
        *_rows(packages, total, top),
    ]
    return "\n".join(lines) + "\n"


def _location(frame: tuple[str, str, int]) -> str:
    function, filename, _line = frame
    return f"{_short(filename)}: {function}"


def _short(filename: str) -> str:
    """A path relative to site-packages, the stdlib or the operator's source dir, like py-spy's."""
    for marker in ("/site-packages/", "/operator/"):
        if marker in filename:
            return filename.rsplit(marker, 1)[1]
    if filename.startswith(_STDLIB + "/"):
        return filename[len(_STDLIB) + 1 :]
    return filename


def _is_stdlib(filename: str) -> bool:
    return filename.startswith(_STDLIB + "/") and "/site-packages/" not in filename


def _mb(n: float) -> str:
    return f"{n / 2**20:8.1f} MB"


def mem_summary(path: Path, top: int = 10) -> str:
    from memray import FileReader  # the dev extra; only this command needs it

    reader = FileReader(str(path))
    meta = reader.metadata
    records = list(reader.get_high_watermark_allocation_records(merge_threads=True))
    held = sum(r.size for r in records)
    own: Counter[str] = Counter()
    own_count: Counter[str] = Counter()
    cumulative: Counter[str] = Counter()
    packages: Counter[str] = Counter()
    for record in records:
        stack: Sequence[tuple[str, str, int]] = record.stack_trace()  # innermost first
        key = _location(stack[0]) if stack else "(no Python frame: interpreter start-up, a C thread)"
        own[key] += record.size
        own_count[key] += record.n_allocations
        for location in {_location(frame) for frame in stack}:
            cumulative[location] += record.size
        caller = next((f for f in stack if not _is_stdlib(f[1])), stack[0] if stack else None)
        packages[_package(_short(caller[1])) if caller else "(none)"] += record.size
    informative = Counter({k: n for k, n in cumulative.items() if not _ENTRY.match(k)})

    def mb_rows(counter: Counter[str], counts: Counter[str] | None = None) -> Iterable[str]:
        for key, size in counter.most_common(top):
            extra = f"  {counts[key]:>9,} allocations" if counts is not None else ""
            yield f"  {_mb(size)}  {100 * size / held:5.1f} %{extra}  {key}"

    seconds = (meta.end_time - meta.start_time).total_seconds()
    lines = [
        f"{path.name}: peak of the traced heap {_mb(meta.peak_memory).strip()} "
        f"({meta.python_allocator} allocator, native frames: {meta.has_native_traces}); "
        f"{meta.total_allocations:,} allocations in all; {seconds:.0f} s traced",
        f"held at the peak: {_mb(held).strip()} in {len(records):,} allocation sites",
        "",
        f"top {top} allocators at the peak, by innermost Python frame:",
        *mb_rows(own, own_count),
        "",
        f"top {top} frames at the peak, cumulative (anywhere on the stack; entry points left out):",
        *mb_rows(informative),
        "",
        "held at the peak by package (innermost frame outside the standard library):",
        *mb_rows(packages),
    ]
    return "\n".join(lines) + "\n"


def summarize(path: Path, top: int = 10) -> str:
    return mem_summary(path, top) if path.name.endswith(".bin") else cpu_summary(path, top)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("kind", choices=["cpu", "mem"])
    parser.add_argument("capture", type=Path)
    parser.add_argument("--top", type=int, default=10)
    options = parser.parse_args(argv)
    text = (mem_summary if options.kind == "mem" else cpu_summary)(options.capture, options.top)
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
