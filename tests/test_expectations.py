"""Verdicts on detector events against watch periods and expected windows; key names."""

from __future__ import annotations

import pytest

from detectors.event import Event
from devices.keys import Key
from devices.profiles.android_tv import KEYCODES, key_for_keycode, keycode
from harness.expectations import Expectations, Verdict


def freeze(start: float, end: float) -> Event:
    return Event("freeze", start, end, 1.0)


def black(start: float, end: float) -> Event:
    return Event("black", start, end, 1.0)


@pytest.fixture
def watched() -> Expectations:
    """Margin 1 s, playback watched from 10 s on."""
    expectations = Expectations(margin_s=1.0)
    expectations.start_watching(10.0)
    return expectations


# ---- watch periods ------------------------------------------------------------------------


def test_nothing_is_watched_before_playback():
    expectations = Expectations()
    assert expectations.playback_start is None
    assert expectations.verdict(freeze(1.0, 3.0)) is Verdict.OUTSIDE_PLAYBACK


def test_event_before_the_watch_period_is_outside_playback(watched):
    assert watched.verdict(freeze(2.0, 4.0)) is Verdict.OUTSIDE_PLAYBACK
    # begins in the menus, lasts into playback: still not judged as a playback defect
    assert watched.verdict(freeze(9.5, 12.0)) is Verdict.OUTSIDE_PLAYBACK


def test_event_inside_watch_without_window_is_a_defect(watched):
    assert watched.playback_start == 10.0
    assert watched.verdict(freeze(10.0, 12.0)) is Verdict.DEFECT
    assert watched.verdict(black(50.0, 51.0)) is Verdict.DEFECT


def test_start_watching_twice_keeps_the_first_start(watched):
    watched.start_watching(20.0)
    assert len(watched.watch) == 1
    assert watched.playback_start == 10.0


def test_stop_watching_ends_playback_margin_early(watched):
    watched.stop_watching(30.0)  # events from 29 s on are the end of the title, not defects
    assert watched.verdict(freeze(28.5, 30.0)) is Verdict.DEFECT
    assert watched.verdict(freeze(29.5, 31.0)) is Verdict.OUTSIDE_PLAYBACK
    assert watched.verdict(black(35.0, 36.0)) is Verdict.OUTSIDE_PLAYBACK


def test_stop_watching_never_ends_before_the_start(watched):
    watched.stop_watching(10.5)  # t - margin is before the start: the period is empty
    assert watched.watch[0].end == 10.0
    assert watched.verdict(freeze(10.0, 11.0)) is Verdict.OUTSIDE_PLAYBACK


def test_a_second_watch_period_after_stopping(watched):
    watched.stop_watching(30.0)
    watched.start_watching(40.0)
    assert len(watched.watch) == 2
    assert watched.playback_start == 10.0
    assert watched.verdict(freeze(35.0, 36.0)) is Verdict.OUTSIDE_PLAYBACK
    assert watched.verdict(freeze(41.0, 42.0)) is Verdict.DEFECT


def test_stop_watching_without_watching_is_a_no_op():
    expectations = Expectations()
    expectations.stop_watching(5.0)
    assert expectations.watch == []


# ---- expected windows -----------------------------------------------------------------------


def test_freeze_inside_a_still_window_is_expected(watched):
    window = watched.open_window(("still",), 20.0)
    watched.close_window(window, 25.0)
    assert window.detectors == frozenset({"freeze", "stutter", "silence"})  # paused: silent
    assert watched.verdict(freeze(20.5, 24.5)) is Verdict.EXPECTED


def test_still_window_is_widened_by_the_margin(watched):
    window = watched.open_window(("still",), 20.0)
    watched.close_window(window, 25.0)
    # starts a whole margin early, ends a whole margin late: still expected
    assert watched.verdict(freeze(19.0, 26.0)) is Verdict.EXPECTED
    assert watched.verdict(freeze(19.25, 25.75)) is Verdict.EXPECTED


def test_event_reaching_past_the_margin_is_a_defect(watched):
    window = watched.open_window(("still",), 20.0)
    watched.close_window(window, 25.0)
    assert watched.verdict(freeze(20.5, 26.5)) is Verdict.DEFECT  # ends 1.5 s after
    assert watched.verdict(freeze(18.5, 24.0)) is Verdict.DEFECT  # starts 1.5 s before
    assert watched.verdict(freeze(12.0, 13.0)) is Verdict.DEFECT  # unrelated, earlier


def test_open_window_covers_everything_after_its_start(watched):
    watched.open_window(("still",), 20.0)
    assert watched.verdict(freeze(21.0, 100.0)) is Verdict.EXPECTED
    assert watched.verdict(freeze(15.0, 16.0)) is Verdict.DEFECT


def test_freeze_kind_is_a_synonym_of_still(watched):
    window = watched.open_window(("freeze",), 20.0)
    watched.close_window(window, 25.0)
    assert watched.verdict(freeze(20.0, 25.0)) is Verdict.EXPECTED


def test_still_window_does_not_excuse_black(watched):
    window = watched.open_window(("still",), 20.0)
    watched.close_window(window, 25.0)
    assert watched.verdict(black(21.0, 22.0)) is Verdict.DEFECT


def test_black_window_does_not_excuse_freeze(watched):
    window = watched.open_window(("black",), 20.0)
    watched.close_window(window, 25.0)
    assert watched.verdict(black(21.0, 22.0)) is Verdict.EXPECTED
    assert watched.verdict(freeze(21.0, 22.0)) is Verdict.DEFECT


def test_window_with_two_kinds_covers_both(watched):
    window = watched.open_window(("still", "black"), 20.0)
    watched.close_window(window, 25.0)
    assert window.label == "still+black"
    assert watched.verdict(black(21.0, 22.0)) is Verdict.EXPECTED
    assert watched.verdict(freeze(21.0, 22.0)) is Verdict.EXPECTED


def test_any_matching_window_excuses(watched):
    first = watched.open_window(("still",), 20.0)
    watched.close_window(first, 22.0)
    second = watched.open_window(("still",), 40.0)
    watched.close_window(second, 42.0)
    assert watched.verdict(freeze(40.5, 41.5)) is Verdict.EXPECTED
    assert watched.verdict(freeze(30.0, 31.0)) is Verdict.DEFECT


def test_window_outside_playback_stays_outside(watched):
    window = watched.open_window(("still",), 2.0)
    watched.close_window(window, 5.0)
    assert watched.verdict(freeze(3.0, 4.0)) is Verdict.OUTSIDE_PLAYBACK


def test_zero_margin_is_exact():
    expectations = Expectations(margin_s=0.0)
    expectations.start_watching(0.0)
    window = expectations.open_window(("black",), 5.0)
    expectations.close_window(window, 6.0)
    assert expectations.verdict(black(5.0, 6.0)) is Verdict.EXPECTED
    assert expectations.verdict(black(4.96, 6.0)) is Verdict.DEFECT
    assert expectations.verdict(black(5.0, 6.04)) is Verdict.DEFECT


def test_unknown_expectation_kind_is_named(watched):
    with pytest.raises(ValueError) as info:
        watched.open_window(("fade",), 20.0)
    assert "'fade'" in str(info.value)
    assert "still" in str(info.value)
    assert watched.windows == []
    with pytest.raises(ValueError, match="'blur'"):
        Expectations.detectors_for(("still", "blur"))


def test_negative_margin_is_refused():
    with pytest.raises(ValueError, match="margin_s"):
        Expectations(margin_s=-0.5)


# ---- keys -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("play", Key.PLAY),
        ("PLAY", Key.PLAY),
        ("Play_Pause", Key.PLAY_PAUSE),
        ("ok", Key.OK),
        ("vol_up", Key.VOL_UP),
        ("7", Key.DIGIT_7),
        (Key.HOME, Key.HOME),
    ],
)
def test_key_parse_is_case_insensitive(name, key):
    assert Key.parse(name) is key


@pytest.mark.parametrize("name", ["jump", "", "PLAYPAUSE", "10"])
def test_key_parse_error_names_the_key(name):
    with pytest.raises(ValueError) as info:
        Key.parse(name)
    message = str(info.value)
    assert f"unknown key {name!r}" in message
    assert "PLAY_PAUSE" in message  # lists the known keys


# ---- Android TV keycodes --------------------------------------------------------------------


def test_every_key_has_an_android_keycode():
    assert set(KEYCODES) == set(Key)


@pytest.mark.parametrize(
    ("key", "name"),
    [
        ("PLAY", "KEYCODE_MEDIA_PLAY"),
        ("pause", "KEYCODE_MEDIA_PAUSE"),
        (Key.OK, "KEYCODE_DPAD_CENTER"),
        ("up", "KEYCODE_DPAD_UP"),
        ("0", "KEYCODE_0"),
        ("9", "KEYCODE_9"),
    ],
)
def test_keycode_names(key, name):
    assert keycode(key) == name


def test_keycode_of_unknown_key_raises():
    with pytest.raises(ValueError, match="unknown key 'jump'"):
        keycode("jump")


@pytest.mark.parametrize("key", list(Key))
def test_keycode_round_trips(key):
    name, number = KEYCODES[key]
    assert keycode(key) == name
    assert key_for_keycode(name) is key
    assert key_for_keycode(str(number)) is key
    assert key_for_keycode(name.lower()) is key
    short = name.removeprefix("KEYCODE_")
    if not short.isdigit():  # a bare digit is a keycode *number*, see below
        assert key_for_keycode(short) is key


def test_bare_digits_are_keycode_numbers_not_digit_keys():
    assert key_for_keycode("3") is Key.HOME  # KEYCODE_HOME = 3
    assert key_for_keycode("KEYCODE_3") is Key.DIGIT_3  # KEYCODE_3 = 10
    assert key_for_keycode("10") is Key.DIGIT_3


@pytest.mark.parametrize(
    ("code", "key"),
    [
        ("126", Key.PLAY),
        (" 127 ", Key.PAUSE),
        ("23", Key.OK),
        ("7", Key.DIGIT_0),
        ("16", Key.DIGIT_9),
        ("DPAD_UP", Key.UP),
        ("dpad_down", Key.DOWN),
        ("KEYCODE_DPAD_CENTER", Key.OK),
        ("KEYCODE_ENTER", Key.OK),
        ("ENTER", Key.OK),
        ("66", Key.OK),
        ("MEDIA_PLAY_PAUSE", Key.PLAY_PAUSE),
    ],
)
def test_key_for_keycode(code, key):
    assert key_for_keycode(code) is key


@pytest.mark.parametrize("code", ["KEYCODE_FOO", "FOO", "999", "0x7e", "", "KEYCODE_"])
def test_unsupported_keycode_raises_naming_it(code):
    with pytest.raises(ValueError) as info:
        key_for_keycode(code)
    assert f"unsupported keycode {code!r}" in str(info.value)
