"""Memory growth of whole-file decoding: memory left allocated per ``transcribe`` call.

Decodes the same four spoken questions (flite) over and over in one process, as ``voice-coach
understand`` does for a long list of files, and reports how much memory each decode leaves
behind,
then the same for the parts: finding the speech (``speech_spans``), PocketSphinx's own
``Endpointer`` doing the same (its Python class never frees what it allocates, which is why
``speech_spans`` works on a ``Vad``), and the decoder alone. Memory is counted as the C heap
in use (glibc's ``mallinfo2``), which shows a leak that resident memory hides behind memory
freed earlier.

Run: ``.venv/bin/python tests/benchmarks/bench_memory_growth.py [--rounds 150]``
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import speech  # noqa: E402

SENTENCES = (
    "how do i stretch my lower back",
    "should i use ice or heat",
    "stop",
    "when do i need a doctor",
)


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
        "fordblks", "keepcost",
    )]  # fmt: skip


def allocated_kb() -> float:
    """Bytes the C heap has handed out and not had back (glibc ``mallinfo2``), in KB: unlike
    resident memory, it does not hide a leak behind memory freed earlier."""
    libc = ctypes.CDLL("libc.so.6")
    libc.mallinfo2.restype = _MallInfo2
    info = libc.mallinfo2()
    return (info.uordblks + info.hblkhd) / 1024


def growth_kb(step: Callable[[bytes], object], clips: list[bytes], rounds: int) -> float:
    """C heap left allocated per call of ``step`` (KB), after one warm-up round."""
    for pcm in clips:
        step(pcm)
    gc.collect()
    before = allocated_kb()
    for _ in range(rounds):
        for pcm in clips:
            step(pcm)
    gc.collect()
    return (allocated_kb() - before) / (rounds * len(clips))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=150, help="times each file is decoded")
    parser.add_argument("--cache", default="/tmp/voice-coach-bench-memory", help="rendered speech")
    args = parser.parse_args()
    import pocketsphinx

    from voice_coach.audio import SAMPLE_RATE
    from voice_coach.recognise_sphinx import ENDPOINT_WINDOW, SphinxRecogniser, speech_spans

    maker = speech.SpeechMaker(Path(args.cache))
    clips = [speech.read_audio(maker.say(s, "flite_slt")).tobytes() for s in SENTENCES]
    recogniser = SphinxRecogniser()
    decoder = SphinxRecogniser(denoise=False)._main

    def endpointer(pcm: bytes) -> None:
        ep = pocketsphinx.Endpointer(window=ENDPOINT_WINDOW, sample_rate=SAMPLE_RATE)
        for i in range(0, len(pcm) - ep.frame_bytes + 1, ep.frame_bytes):
            ep.process(pcm[i : i + ep.frame_bytes])

    def decode_only(pcm: bytes) -> None:
        decoder.start_utt()
        decoder.process_raw(pcm, full_utt=True)
        decoder.end_utt()

    calls = args.rounds * len(clips)
    print(f"{len(clips)} files x {args.rounds} rounds = {calls} calls each")
    rows = (
        ("transcribe (whole file)", lambda pcm: recogniser.transcribe([pcm])),
        ("finding the speech (speech_spans)", lambda pcm: speech_spans(pocketsphinx, pcm)),
        ("pocketsphinx.Endpointer over the file", endpointer),
        ("decoder alone", decode_only),
    )
    for name, step in rows:
        print(f"| {name} | {growth_kb(step, clips, args.rounds):.1f} KB per call |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
