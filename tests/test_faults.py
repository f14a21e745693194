"""The virtual device's fault schedule: parsing, and what each fault does to the output."""

from __future__ import annotations

import numpy as np
import pytest

from devices.simulator.app import PlayerState, VirtualApp
from devices.simulator.content import default_titles
from devices.simulator.faults import FAULT_KINDS, Fault, FaultSchedule, FaultSpecError

# ---- parsing --------------------------------------------------------------------------------

WITH_AV_OFFSET = {**FAULT_KINDS, "av_offset": "audio leads or lags the picture by VALUE"}


def test_parse_two_faults():
    schedule = FaultSchedule.parse("freeze@8s+2s,black@15s+1s")
    assert schedule.faults == (Fault("freeze", 8.0, 2.0), Fault("black", 15.0, 1.0))
    assert [f.kind for f in schedule.faults] == ["freeze", "black"]
    assert schedule.faults[0].end_s == 10.0
    assert schedule.faults[1].value is None
    assert schedule


def test_parse_milliseconds_and_bare_seconds():
    (drop,) = FaultSchedule.parse("drop@500ms+250ms").faults
    assert drop.kind == "drop"
    assert drop.start_s == pytest.approx(0.5)
    assert drop.duration_s == pytest.approx(0.25)
    (freeze,) = FaultSchedule.parse("freeze@1.5+2").faults
    assert (freeze.start_s, freeze.duration_s) == (1.5, 2.0)


def test_parse_value_with_unit_needs_known_kind():
    (fault,) = FaultSchedule.parse("av_offset@0s+30s:120ms", known_kinds=WITH_AV_OFFSET).faults
    assert fault.kind == "av_offset"
    assert fault.value == pytest.approx(0.12)
    assert (fault.start_s, fault.duration_s) == (0.0, 30.0)
    with pytest.raises(FaultSpecError, match="unknown kind 'warp'"):
        FaultSchedule.parse("warp@0s+30s:120ms")


@pytest.mark.parametrize(
    ("value", "expected"),
    [("3", 3.0), ("2.5", 2.5), ("-40ms", -0.04), ("1s", 1.0), ("50%", 0.5), ("-6dB", -6.0)],
)
def test_parse_values(value, expected):
    (fault,) = FaultSchedule.parse(f"drop@5s+1s:{value}").faults
    assert fault.value == pytest.approx(expected)


def test_whitespace_and_empty_items_are_tolerated():
    schedule = FaultSchedule.parse("  freeze@8s+2s ,  black@15s+1s , ")
    assert schedule == FaultSchedule.parse("freeze@8s+2s,black@15s+1s")
    assert len(schedule.faults) == 2


@pytest.mark.parametrize("spec", ["", None, "   ", " , ,"])
def test_empty_schedule_is_falsy(spec):
    schedule = FaultSchedule.parse(spec)
    assert not schedule
    assert schedule.faults == ()
    assert schedule.active("freeze", 0.0) is None
    assert str(schedule) == ""


def test_active_window_is_start_inclusive_end_exclusive():
    schedule = FaultSchedule.parse("freeze@8s+2s,black@15s+1s")
    assert schedule.active("freeze", 7.999) is None
    assert schedule.active("freeze", 8.0) == Fault("freeze", 8.0, 2.0)
    assert schedule.active("freeze", 9.999) is not None
    assert schedule.active("freeze", 10.0) is None
    assert schedule.active("black", 9.0) is None  # another kind's window
    assert schedule.active("black", 15.0) == Fault("black", 15.0, 1.0)
    assert schedule.active("black", 16.0) is None
    assert schedule.active("drop", 8.5) is None


def test_active_finds_the_right_one_of_several_of_a_kind():
    schedule = FaultSchedule.parse("drop@1s+1s:3,drop@5s+1s:7")
    assert schedule.active("drop", 1.5).value == 3
    assert schedule.active("drop", 5.5).value == 7
    assert schedule.active("drop", 3.0) is None


@pytest.mark.parametrize(
    "spec",
    [
        "freeze@8s+2s,black@15s+1s",
        "drop@500ms+250ms:3",
        "repeat@1.5s+0.75s:4,freeze@0s+1s",
        "drop@5s+1s:50%",
    ],
)
def test_str_round_trips(spec):
    schedule = FaultSchedule.parse(spec)
    assert FaultSchedule.parse(str(schedule)) == schedule


def test_str_round_trips_with_unit_value():
    schedule = FaultSchedule.parse("av_offset@0s+30s:120ms", known_kinds=WITH_AV_OFFSET)
    assert str(schedule) == "av_offset@0s+30s:0.12"
    assert FaultSchedule.parse(str(schedule), known_kinds=WITH_AV_OFFSET) == schedule


def test_str_round_trips_tiny_value():
    schedule = FaultSchedule.parse("av_offset@0s+30s:0.01ms", known_kinds=WITH_AV_OFFSET)
    assert FaultSchedule.parse(str(schedule), known_kinds=WITH_AV_OFFSET) == schedule


@pytest.mark.parametrize(
    ("spec", "bad_item", "problem"),
    [
        ("smear@1s+1s", "smear@1s+1s", "unknown kind 'smear'"),
        ("freeze@8s", "freeze@8s", "expected kind@start+duration"),
        ("freeze@-1s+2s", "freeze@-1s+2s", "start must be >= 0"),
        ("freeze@1s+0s", "freeze@1s+0s", "duration must be > 0"),
        ("freeze@1s+0ms", "freeze@1s+0ms", "duration must be > 0"),
        ("freeze@1s+-2s", "freeze@1s+-2s", "duration must be > 0"),
        ("drop@1s+1s:abc", "drop@1s+1s:abc", "value 'abc'"),
        ("drop@1s+1s:3x", "drop@1s+1s:3x", "value '3x'"),
        ("freeze@1h+2s", "freeze@1h+2s", "expected kind@start+duration"),
        ("freeze@8s+2s,bogus", "bogus", "expected kind@start+duration"),
        ("freeze@8s+2s,black@1s+1s,blur@1s+1s", "blur@1s+1s", "unknown kind"),
    ],
)
def test_errors_quote_the_bad_item(spec, bad_item, problem):
    with pytest.raises(FaultSpecError) as info:
        FaultSchedule.parse(spec)
    message = str(info.value)
    assert f"'{bad_item}'" in message
    assert problem in message


def test_unknown_kind_lists_the_known_kinds():
    with pytest.raises(FaultSpecError) as info:
        FaultSchedule.parse("smear@1s+1s")
    for kind in FAULT_KINDS:
        assert kind in str(info.value)


def test_fault_spec_error_is_a_value_error():
    with pytest.raises(ValueError):
        FaultSchedule.parse("nonsense")


# ---- the virtual app's output under faults --------------------------------------------------

FPS = 25
W, H = 160, 90
TOP = slice(0, 30)  # rows above the pause symbol and the on-screen display


@pytest.fixture(scope="module")
def titles():
    return default_titles(W, H)


def playing_app(titles, faults: str = "") -> VirtualApp:
    """A virtual app playing the first title from its start."""
    app = VirtualApp(titles, FaultSchedule.parse(faults), W, H, FPS)
    app.launch()
    app.press("OK")  # opens the selected title, paused
    app.press("PLAY")
    assert app.media_session()[0] == PlayerState.PLAYING
    return app


def render(app: VirtualApp, count: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    pictures, audio = [], []
    for _ in range(count):
        picture, sound = app.render()
        pictures.append(picture.copy())
        audio.append(sound.copy())
    return pictures, audio


@pytest.fixture(scope="module")
def clean(titles):
    return render(playing_app(titles), 75)


def content_index(titles, picture: np.ndarray) -> int:
    """Which frame of the first title's clip ``picture`` shows (compared above the OSD)."""
    title = titles[0]
    for k in range(min(title.frame_count, 140)):
        if np.array_equal(title.frame(k)[TOP], picture[TOP]):
            return k
    raise AssertionError("picture is no frame of the title")


def identical_pairs(pictures: list[np.ndarray]) -> int:
    return sum(np.array_equal(a[TOP], b[TOP]) for a, b in zip(pictures, pictures[1:], strict=False))


def test_clean_playback_moves_and_sounds(titles, clean):
    pictures, audio = clean
    assert pictures[0].shape == (H, W, 3) and pictures[0].dtype == np.uint8
    assert audio[0].shape == (48_000 // FPS, 2) and audio[0].dtype == np.float32
    assert [content_index(titles, p) for p in pictures] == list(range(75))
    assert identical_pairs(pictures) == 0
    assert all(np.abs(a).max() > 0 for a in audio)


def test_freeze_holds_the_last_picture_while_audio_goes_on(titles, clean):
    pictures, audio = render(playing_app(titles, "freeze@1s+1s"), 75)
    # before the fault: the clean output
    for i in range(25):
        assert np.array_equal(pictures[i], clean[0][i])
    # [1 s, 2 s): frames 25..49 repeat frame 24, the last one before 1 s
    for i in range(25, 50):
        assert np.array_equal(pictures[i], pictures[24]), f"frame {i} is not frozen"
    assert not np.array_equal(pictures[50], pictures[24])
    assert content_index(titles, pictures[51]) == 51  # playback went on underneath
    # sound is untouched
    for i in range(75):
        assert np.array_equal(audio[i], clean[1][i])
    assert all(np.abs(a).max() > 0 for a in audio[25:50])


def test_black_blanks_the_picture_while_audio_goes_on(titles, clean):
    pictures, audio = render(playing_app(titles, "black@1s+0.5s"), 75)
    black = [i for i, p in enumerate(pictures) if not p.any()]
    assert black == list(range(25, 38))  # 1.00 s .. 1.48 s
    assert content_index(titles, pictures[38]) == 38
    for i in range(75):
        assert np.array_equal(audio[i], clean[1][i])
    assert all(np.abs(a).max() > 0 for a in audio[25:38])


def test_repeat_shows_every_fifth_frame_twice(titles, clean):
    pictures, _ = render(playing_app(titles, "repeat@1s+1s:5"), 75)
    assert identical_pairs(clean[0][24:50]) == 0
    # window [1 s, 2 s) is output frames 25..49; a pair (24, 25) is the window's first repeat
    assert identical_pairs(pictures[24:50]) == 5
    assert identical_pairs(pictures[:25]) == 0
    shown = [content_index(titles, p) for p in pictures[:50]]
    assert shown[:25] == list(range(25))
    steps = list(np.diff(shown)[24:])
    # each affected slot repeats the previous frame, then content resumes on time (k-1, k-1, k+1)
    assert steps.count(0) == 5 and steps.count(2) == 5
    assert all(steps[i + 1] == 2 for i, step in enumerate(steps) if step == 0)


def test_repeat_value_sets_the_period(titles):
    pictures, _ = render(playing_app(titles, "repeat@1s+1s:2"), 50)
    assert identical_pairs(pictures[24:50]) == 13  # every 2nd of 25 frames, from the first


def test_drop_skips_every_fifth_frame(titles, clean):
    pictures, _ = render(playing_app(titles, "drop@1s+1s:5"), 75)
    assert identical_pairs(pictures[:25]) == 0
    assert identical_pairs(pictures[24:50]) == 5
    shown = [content_index(titles, p) for p in pictures[:50]]
    assert shown[:25] == list(range(25))
    steps = list(np.diff(shown)[24:])
    # each affected slot shows the next frame early, then it shows again (k-1, k+1, k+1)
    assert steps.count(2) == 5 and steps.count(0) == 5
    assert all(steps[i + 1] == 0 for i, step in enumerate(steps) if step == 2)
    skipped = set(range(shown[24], shown[49] + 1)) - set(shown)
    assert len(skipped) == 5


@pytest.mark.parametrize("kind", ["drop", "repeat"])
def test_no_jump_when_a_drop_or_repeat_fault_ends(titles, kind):
    pictures, _ = render(playing_app(titles, f"{kind}@1s+1s:5"), 75)
    steps = np.diff([content_index(titles, p) for p in pictures])
    assert set(steps) <= {0, 1, 2}


def test_faults_count_playback_time_from_play(titles):
    # 10 menu frames before PLAY do not move the fault window
    app = VirtualApp(titles, FaultSchedule.parse("black@1s+0.5s"), W, H, FPS)
    app.launch()
    render(app, 10)
    app.press("OK")
    app.press("PLAY")
    pictures, _ = render(app, 50)
    assert [i for i, p in enumerate(pictures) if not p.any()] == list(range(25, 38))


def test_pause_holds_the_picture_and_silences_audio(titles):
    app = playing_app(titles)
    render(app, 10)
    app.press("PAUSE")
    state, position, title = app.media_session()
    assert state == PlayerState.PAUSED
    assert position == pytest.approx(10 / FPS)
    assert title == "Big Buck Bunny"
    pictures, audio = render(app, 20)
    for picture in pictures[1:]:
        assert np.array_equal(picture, pictures[0])
    assert all(not a.any() for a in audio)
    assert content_index(titles, pictures[0]) == 10
    assert app.media_session()[1] == pytest.approx(10 / FPS)
    # and PLAY resumes where it paused, with sound
    app.press("PLAY")
    pictures, audio = render(app, 5)
    assert [content_index(titles, p) for p in pictures] == [10, 11, 12, 13, 14]
    assert all(np.abs(a).max() > 0 for a in audio)
