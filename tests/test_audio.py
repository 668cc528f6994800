"""Reading audio files: every format and rate becomes 16 kHz mono int16; bad files are InputErrors.

The speech is rendered at test time (flite's slt voice, else espeak-ng) and written in each
format with soundfile, so the test knows exactly what the file should hold.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import threading
from pathlib import Path

import numpy as np
import pytest
import soundfile
import soxr
from room import aligned_correlation

from voice_coach.audio import (
    CHUNK_FRAMES,
    MAX_FILE_SECONDS,
    SAMPLE_RATE,
    chunks_of,
    file_chunks,
    float_to_int16,
    read_audio,
)
from voice_coach.errors import InputError

SENTENCE = "Lie on your back and slowly bring one knee towards your chest."


@pytest.fixture(scope="module")
def speech(tmp_path_factory: pytest.TempPathFactory) -> np.ndarray:
    """Real synthetic speech, 16 kHz mono int16, with a little silence around it."""
    out = tmp_path_factory.mktemp("speech") / "speech.wav"
    if shutil.which("flite"):
        argv = ["flite", "-voice", "slt", "-t", SENTENCE, "-o", str(out)]
    elif shutil.which("espeak-ng"):
        argv = ["espeak-ng", "-v", "en-us", "-w", str(out), SENTENCE]
    else:
        pytest.skip("no speech synthesiser (flite or espeak-ng) installed")
    subprocess.run(argv, check=True, capture_output=True)
    samples = read_audio(out)
    pad = np.zeros(SAMPLE_RATE // 4, dtype=np.int16)
    return np.concatenate([pad, samples, pad])


def as_float(samples: np.ndarray) -> np.ndarray:
    return samples.astype(np.float32) / 32768.0


def resampled(samples: np.ndarray, rate: int) -> np.ndarray:
    """``samples`` (16 kHz int16) as float at ``rate``."""
    return soxr.resample(as_float(samples), SAMPLE_RATE, rate, quality="VHQ")


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    n = min(len(a), len(b))
    return float(np.corrcoef(a[:n].astype(np.float64), b[:n].astype(np.float64))[0, 1])


def level_ratio(result: np.ndarray, original: np.ndarray) -> float:
    """RMS of ``result`` over RMS of ``original``."""
    rms = [np.sqrt(np.mean(x.astype(np.float64) ** 2)) for x in (result, original)]
    return float(rms[0] / rms[1])


def assert_pipeline_format(result: np.ndarray, expected_frames: int, slack: int = 2) -> None:
    assert result.dtype == np.int16
    assert result.ndim == 1
    assert abs(len(result) - expected_frames) <= slack, (len(result), expected_frames)


# -- formats that must read ------------------------------------------------------------------


@pytest.mark.parametrize("rate", [8_000, 16_000, 22_050, 44_100, 48_000])
def test_pcm_wav_at_any_rate_becomes_16k(tmp_path: Path, speech: np.ndarray, rate: int) -> None:
    path = tmp_path / f"speech_{rate}.wav"
    soundfile.write(path, resampled(speech, rate), rate, subtype="PCM_16")
    result = read_audio(path)
    assert_pipeline_format(result, len(speech))
    # 8 kHz keeps only the band below 4 kHz, which holds most of the speech energy.
    assert correlation(result, speech) > (0.97 if rate == 8_000 else 0.999)
    assert level_ratio(result, speech) == pytest.approx(1.0, abs=0.05 if rate == 8_000 else 0.01)


def test_16k_pcm_wav_is_read_exactly(tmp_path: Path, speech: np.ndarray) -> None:
    path = tmp_path / "speech.wav"
    soundfile.write(path, speech, SAMPLE_RATE, subtype="PCM_16")
    assert np.array_equal(read_audio(path), speech)


def test_stereo_is_averaged_to_mono(tmp_path: Path, speech: np.ndarray) -> None:
    both = np.stack([resampled(speech, 44_100)] * 2, axis=1)
    left_only = both * np.array([1.0, 0.0], dtype=np.float32)
    soundfile.write(tmp_path / "both.wav", both, 44_100)
    soundfile.write(tmp_path / "left.wav", left_only, 44_100)
    same = read_audio(tmp_path / "both.wav")
    left = read_audio(tmp_path / "left.wav")
    assert_pipeline_format(same, len(speech))
    assert correlation(same, speech) > 0.99 and correlation(left, speech) > 0.99
    assert level_ratio(same, speech) == pytest.approx(1.0, abs=0.02)
    assert level_ratio(left, speech) == pytest.approx(0.5, abs=0.01)


@pytest.mark.parametrize("subtype", ["PCM_16", "PCM_24", "FLOAT"])
def test_wave_format_extensible(tmp_path: Path, speech: np.ndarray, subtype: str) -> None:
    path = tmp_path / f"speech_{subtype}.wav"
    stereo = np.stack([resampled(speech, 48_000)] * 2, axis=1)
    soundfile.write(path, stereo, 48_000, format="WAVEX", subtype=subtype)
    assert b"WAVE" in path.read_bytes()[:12]
    result = read_audio(path)
    assert_pipeline_format(result, len(speech))
    assert correlation(result, speech) > 0.99


def test_float32_wav_is_scaled_and_clipped(tmp_path: Path, speech: np.ndarray) -> None:
    soundfile.write(tmp_path / "float.wav", as_float(speech), SAMPLE_RATE, subtype="FLOAT")
    result = read_audio(tmp_path / "float.wav")
    assert_pipeline_format(result, len(speech), slack=0)
    assert np.array_equal(result, speech)
    loud = np.array([0.5, 1.5, -2.0, np.nan, np.inf, -np.inf], dtype=np.float32)
    soundfile.write(tmp_path / "loud.wav", np.repeat(loud, 100), SAMPLE_RATE, subtype="FLOAT")
    values = read_audio(tmp_path / "loud.wav")[::100]
    assert values.tolist() == [16384, 32767, -32768, 0, 32767, -32768]


@pytest.mark.parametrize(
    ("fmt", "suffix", "rate", "min_correlation"),
    [
        ("FLAC", "flac", 44_100, 0.99),
        ("OGG", "ogg", 48_000, 0.98),
        ("MP3", "mp3", 44_100, 0.98),
    ],
)
def test_compressed_formats(
    tmp_path: Path,
    speech: np.ndarray,
    fmt: str,
    suffix: str,
    rate: int,
    min_correlation: float,
) -> None:
    if fmt not in soundfile.available_formats():
        pytest.skip(f"this libsndfile cannot write {fmt}")
    path = tmp_path / f"speech.{suffix}"
    soundfile.write(path, resampled(speech, rate), rate, format=fmt)
    result = read_audio(path)
    # Lossy codecs pad the start and end by a frame or two.
    assert_pipeline_format(result, len(speech), slack=0 if fmt == "FLAC" else 2_400)
    padded = np.concatenate([np.zeros(2_400, np.int16), result, np.zeros(2_400, np.int16)])
    assert aligned_correlation(speech, padded)[0] > min_correlation


def test_format_is_read_from_content_not_name(tmp_path: Path, speech: np.ndarray) -> None:
    path = tmp_path / "really_flac.wav"
    soundfile.write(path, speech, SAMPLE_RATE, format="FLAC")
    assert np.array_equal(read_audio(path), speech)


# -- chunks ----------------------------------------------------------------------------------


def test_file_chunks_are_the_file_in_100ms_pieces(tmp_path: Path, speech: np.ndarray) -> None:
    path = tmp_path / "speech.wav"
    soundfile.write(path, resampled(speech, 22_050), 22_050)
    chunks = list(file_chunks(path))
    assert all(len(c) == CHUNK_FRAMES * 2 for c in chunks[:-1])
    assert 0 < len(chunks[-1]) <= CHUNK_FRAMES * 2
    assert b"".join(chunks) == read_audio(path).astype("<i2").tobytes()


def test_file_chunks_realtime_yields_the_same_audio(tmp_path: Path, speech: np.ndarray) -> None:
    path = tmp_path / "short.wav"
    soundfile.write(path, speech[: SAMPLE_RATE // 4], SAMPLE_RATE)
    paced = list(file_chunks(path, frames=800, realtime=True))
    assert paced == list(file_chunks(path, frames=800))
    assert len(paced) == 5


def test_chunks_of_nothing_is_nothing() -> None:
    assert list(chunks_of(np.zeros(0, dtype=np.int16))) == []


def test_float_to_int16_clips_instead_of_wrapping() -> None:
    out = float_to_int16(np.array([1.0, 1.01, -1.5, 0.0, 0.5, -1.0]))
    assert out.tolist() == [32767, 32767, -32768, 0, 16384, -32768]


# -- files that must fail cleanly ------------------------------------------------------------


@pytest.mark.parametrize("other", [-1.0, -0.7])
def test_channels_in_opposite_phase_are_not_averaged_to_silence(
    tmp_path: Path, speech: np.ndarray, other: float
) -> None:
    """A microphone wired the wrong way round: averaging would cancel the speech out (at
    -0.7, leave it 16 dB quieter)."""
    opposite = np.stack([speech, (other * speech).astype(np.int16)], axis=1)
    soundfile.write(tmp_path / "opposite.wav", opposite, SAMPLE_RATE, subtype="PCM_16")
    result = read_audio(tmp_path / "opposite.wav")
    assert correlation(result, speech) > 0.99
    assert level_ratio(result, speech) == pytest.approx(1.0, abs=0.01)


def test_one_channel_of_many_carrying_the_sound_is_read_alone(
    tmp_path: Path, speech: np.ndarray
) -> None:
    """Sixteen channels, one live: averaged, the speech would be 24 dB quieter."""
    many = np.zeros((len(speech), 16), dtype=np.int16)
    many[:, 5] = speech
    soundfile.write(tmp_path / "array.wav", many, SAMPLE_RATE, subtype="PCM_16")
    assert np.array_equal(read_audio(tmp_path / "array.wav"), speech)


def test_unrelated_channels_are_still_averaged(tmp_path: Path, speech: np.ndarray) -> None:
    other = np.roll(speech, len(speech) // 2)
    soundfile.write(tmp_path / "two.wav", np.stack([speech, other], axis=1), SAMPLE_RATE)
    expected = ((speech.astype(np.int32) + other) / 2).astype(np.int16)
    assert np.abs(read_audio(tmp_path / "two.wav").astype(np.int32) - expected).max() <= 1


def wav_bytes(samples: np.ndarray, tmp_path: Path) -> bytes:
    path = tmp_path / "source.wav"
    soundfile.write(path, samples, SAMPLE_RATE, subtype="PCM_16")
    return path.read_bytes()


def assert_clear_input_error(path: Path, reason: str) -> None:
    with pytest.raises(InputError) as error:
        read_audio(path)
    message = str(error.value)
    assert str(path) in message
    assert reason in message
    assert "\n" not in message
    with pytest.raises(InputError):
        list(file_chunks(path))


def test_missing_file(tmp_path: Path) -> None:
    assert_clear_input_error(tmp_path / "nowhere.wav", "no such file")


def test_folder_is_not_audio(tmp_path: Path) -> None:
    folder = tmp_path / "recordings.wav"
    folder.mkdir()
    assert_clear_input_error(folder, "folder")


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.wav"
    path.write_bytes(b"")
    assert_clear_input_error(path, "empty")


def test_unreadable_file_says_permission_denied(tmp_path: Path) -> None:
    path = tmp_path / "locked.wav"
    soundfile.write(path, np.zeros(1600, dtype=np.int16), 16000)
    path.chmod(0)
    if os.access(path, os.R_OK):  # root (as in CI) may read anything: deny it another way
        real_open = Path.open

        def denied(self: Path, *args: object, **kwargs: object):  # noqa: ANN202
            if self == path:
                raise PermissionError(13, "Permission denied", str(self))
            return real_open(self, *args, **kwargs)

        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(Path, "open", denied)
            assert_clear_input_error(path, "permission denied")
    else:
        assert_clear_input_error(path, "permission denied")


def test_text_file_is_not_audio(tmp_path: Path) -> None:
    path = tmp_path / "notes.wav"
    path.write_text("knee to chest, hold, breathe\n" * 20)
    assert_clear_input_error(path, "not a readable audio file")


def test_wav_without_samples(tmp_path: Path) -> None:
    path = tmp_path / "silent.wav"
    soundfile.write(path, np.zeros(0, dtype=np.int16), SAMPLE_RATE)
    assert_clear_input_error(path, "holds no samples")


def test_wav_whose_header_was_never_finished_says_so(tmp_path: Path, speech: np.ndarray) -> None:
    """A recorder that stopped before closing the file leaves data size 0, audio after it."""
    data = bytearray(wav_bytes(speech, tmp_path))
    at = data.index(b"data") + 4
    data[at : at + 4] = (0).to_bytes(4, "little")
    path = tmp_path / "unfinished.wav"
    path.write_bytes(data)
    assert_clear_input_error(path, "header was never finished")


def test_an_empty_wav_with_a_list_chunk_holds_no_samples(tmp_path: Path) -> None:
    """Not taken for an unfinished header: libsndfile knows the chunk after the data."""
    data = bytearray(wav_bytes(np.zeros(0, dtype=np.int16), tmp_path))
    data += b"LIST" + (4).to_bytes(4, "little") + b"INFO"
    data[4:8] = (len(data) - 8).to_bytes(4, "little")
    path = tmp_path / "empty_with_list.wav"
    path.write_bytes(data)
    assert_clear_input_error(path, "holds no samples")


def test_an_mp3_tag_alone_says_no_audio_was_found(tmp_path: Path) -> None:
    path = tmp_path / "tag.mp3"
    path.write_bytes(b"ID3\x03\x00\x00\x00\x00\x00\x10" + bytes(16))
    assert_clear_input_error(path, "no audio found in it")


def test_a_short_pipe_is_read_without_reserving_the_limit(
    tmp_path: Path, speech: np.ndarray
) -> None:
    """Reading the 512 MB limit at once reserved it: a small address space then failed."""
    import resource
    import sys

    code = "from voice_coach.audio import read_audio; print(len(read_audio('-')))"
    limit = 600 << 20
    proc = subprocess.run(
        [sys.executable, "-c", code],
        input=wav_bytes(speech, tmp_path),
        capture_output=True,
        timeout=120,
        preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_AS, (limit, limit)),
        check=False,
    )
    assert proc.returncode == 0, proc.stderr.decode()
    assert int(proc.stdout) == len(speech)


@pytest.mark.parametrize(("field", "where"), [("rate", slice(24, 28)), ("channels", slice(22, 24))])
def test_wav_with_a_zero_rate_or_channel_count_names_the_header(
    tmp_path: Path, speech: np.ndarray, field: str, where: slice
) -> None:
    data = bytearray(wav_bytes(speech, tmp_path))
    data[where] = bytes(where.stop - where.start)
    path = tmp_path / f"{field}0.wav"
    path.write_bytes(data)
    assert_clear_input_error(path, "its header is damaged; copy or record it again")


def test_a_header_giving_a_thousand_channels_is_damaged(tmp_path: Path, speech: np.ndarray) -> None:
    data = bytearray(wav_bytes(speech, tmp_path))
    data[22:24] = (1000).to_bytes(2, "little")
    path = tmp_path / "many.wav"
    path.write_bytes(data)
    assert_clear_input_error(path, "the header gives 1000 channels")


def test_messages_about_a_file_named_dash_name_it_as_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InputError, match=r"^\./-: no such file"):
        read_audio("./-")
    (tmp_path / "-").write_bytes(b"")
    with pytest.raises(InputError, match=r"^\./-: the file is empty"):
        read_audio("./-")


def test_a_file_named_dash_is_a_file_not_standard_input(
    tmp_path: Path, speech: np.ndarray, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "-").write_bytes(wav_bytes(speech, tmp_path))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b"")))
    assert np.array_equal(read_audio("./-"), speech)


def test_a_stream_that_never_ends_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """``understand /dev/zero`` stops at a limit instead of filling the memory."""
    monkeypatch.setattr("voice_coach.audio.MAX_PIPED_BYTES", 1_000_000)
    with pytest.raises(InputError, match="MB came in"):
        read_audio("/dev/zero")


def test_a_damaged_mp3_does_not_flood_stderr(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """mpg123 complains about every broken frame (about 50 lines here) on stderr."""
    frames = b"".join(b"\xff\xfb\x90\x64" + np.random.default_rng(i).bytes(413) for i in range(20))
    path = tmp_path / "damaged.mp3"
    path.write_bytes(frames)
    try:
        read_audio(path)
    except InputError:
        pass  # either way: our one line, or none
    assert capfd.readouterr().err == ""


def test_wav_cut_inside_its_header(tmp_path: Path, speech: np.ndarray) -> None:
    path = tmp_path / "header.wav"
    path.write_bytes(wav_bytes(speech, tmp_path)[:30])
    assert_clear_input_error(path, "not a readable audio file")


def test_truncated_wav_is_an_input_error(tmp_path: Path, speech: np.ndarray) -> None:
    """The header promises more than is there: cut short, not read as if whole."""
    data = wav_bytes(speech, tmp_path)
    cut = 44 + (len(data) - 44) // 2 + 1  # half the samples, and half a sample more
    path = tmp_path / "truncated.wav"
    path.write_bytes(data[:cut])
    assert_clear_input_error(path, "cut short")


def test_wav_from_a_pipe_with_a_placeholder_size_is_read_whole(
    tmp_path: Path, speech: np.ndarray
) -> None:
    """A program writing to a pipe cannot fill the sizes in (espeak-ng puts 0x7FFFF000)."""
    data = bytearray(wav_bytes(speech, tmp_path))
    at = data.index(b"data") + 4
    for size in (0x7FFFF000, 0xFFFFFFFF):
        data[at : at + 4] = size.to_bytes(4, "little")
        path = tmp_path / f"piped_{size:x}.wav"
        path.write_bytes(data)
        assert np.array_equal(read_audio(path), speech)


def test_a_named_pipe_is_read_whole(tmp_path: Path, speech: np.ndarray) -> None:
    """``understand <(sox ...)`` or ``/dev/stdin``: a pipe has no size and cannot seek."""
    data = wav_bytes(speech, tmp_path)
    fifo = tmp_path / "pipe.wav"
    os.mkfifo(fifo)
    writer = threading.Thread(target=fifo.write_bytes, args=(data,))
    writer.start()
    try:
        assert np.array_equal(read_audio(fifo), speech)
    finally:
        writer.join(timeout=10)


def test_standard_input_is_read_as_dash(
    tmp_path: Path, speech: np.ndarray, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(wav_bytes(speech, tmp_path))))
    assert np.array_equal(read_audio("-"), speech)
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b"not audio at all")))
    with pytest.raises(InputError, match="^standard input: not a readable audio file"):
        read_audio("-")


@pytest.mark.parametrize(("fmt", "suffix"), [("OGG", "ogg"), ("MP3", "mp3")])
def test_truncated_compressed_file_is_an_input_error(
    tmp_path: Path, speech: np.ndarray, fmt: str, suffix: str
) -> None:
    if fmt not in soundfile.available_formats():
        pytest.skip(f"this libsndfile cannot write {fmt}")
    source = tmp_path / f"source.{suffix}"
    soundfile.write(source, as_float(speech), SAMPLE_RATE, format=fmt)
    path = tmp_path / f"truncated.{suffix}"
    path.write_bytes(source.read_bytes()[: source.stat().st_size * 3 // 4])
    assert_clear_input_error(path, "cut short")


@pytest.mark.parametrize(
    ("rate", "message"), [(8, "too low for speech"), (2_000_000, "any recorder")]
)
def test_impossible_sample_rate_is_an_input_error(
    tmp_path: Path, speech: np.ndarray, rate: int, message: str
) -> None:
    """A broken header giving 8 Hz would otherwise be resampled into gigabytes; one giving
    2 MHz into a few samples, heard as nothing."""
    path = tmp_path / f"rate_{rate}.wav"
    soundfile.write(path, speech, rate)
    assert_clear_input_error(path, message)


def test_truncated_flac_is_an_input_error(tmp_path: Path, speech: np.ndarray) -> None:
    source = tmp_path / "source.flac"
    soundfile.write(source, speech, SAMPLE_RATE, format="FLAC")
    path = tmp_path / "truncated.flac"
    path.write_bytes(source.read_bytes()[: source.stat().st_size // 2])
    assert_clear_input_error(path, "cut short")


def test_a_name_the_system_cannot_open_is_an_input_error(tmp_path: Path) -> None:
    assert_clear_input_error(tmp_path / ("x" * 300 + ".wav"), "cannot be read (File name too long)")


def test_a_name_that_is_not_utf8_is_read(tmp_path: Path) -> None:
    tone = (np.sin(np.arange(SAMPLE_RATE) / 5) * 8000).astype(np.int16)
    path = Path(os.fsdecode(bytes(tmp_path) + b"/tone\xff.wav"))
    soundfile.write(os.fsencode(path), tone, SAMPLE_RATE, subtype="PCM_16")
    assert np.array_equal(read_audio(path), tone)


def test_a_file_longer_than_the_limit_is_refused_before_it_is_decoded(tmp_path: Path) -> None:
    path = tmp_path / "long.wav"
    rate = 4_000  # keeps the test file small
    soundfile.write(path, np.zeros((MAX_FILE_SECONDS * rate + 1, 6), np.int16), rate)
    assert_clear_input_error(path, f"longer than {MAX_FILE_SECONDS // 60} minutes")
    soundfile.write(path, np.zeros((MAX_FILE_SECONDS * rate, 6), np.int16), rate)
    assert len(read_audio(path)) == MAX_FILE_SECONDS * SAMPLE_RATE


def test_overlapping_silencings_of_stderr_put_it_back(capfd) -> None:
    """Streams open and close on the listener's thread and the main one at once: the blocks
    end in any order, and descriptor 2 must come back (it used to stay on /dev/null)."""
    from voice_coach.errors import native_messages_silenced

    first, second = native_messages_silenced(), native_messages_silenced()
    first.__enter__()
    second.__enter__()
    first.__exit__(None, None, None)
    os.write(2, b"still silenced\n")
    second.__exit__(None, None, None)
    os.write(2, b"back\n")
    assert capfd.readouterr().err == "back\n"
