"""IR timings: NEC / Samsung32 encode-decode, Pronto hex and the built-in remotes."""

from __future__ import annotations

import pytest

from devices import ir
from devices.keys import Key
from devices.profiles.ir_codes import LG_REMOTE, REMOTES, key_for_code
from devices.transports.pronto import ProntoError, parse_pronto


def test_lg_codes_match_lircs_published_form():
    assert LG_REMOTE.code(Key.POWER) == 0x20DF10EF  # LG address 04, command 08
    assert LG_REMOTE.code(Key.UP) == 0x20DF02FD


@pytest.mark.parametrize("remote", REMOTES.values(), ids=lambda r: r.name)
def test_every_key_survives_timings_and_pronto(remote):
    for key in remote.commands:
        frames = ir.decode(remote.timings(key))
        assert [key_for_code(f.protocol, f.code) for f in frames] == [(remote, key)]
        pronto = parse_pronto(remote.pronto(key))
        assert abs(pronto.frequency_hz - ir.CARRIER_HZ) < 100
        frames = ir.decode(pronto.timings_us()[:-1])
        assert [key_for_code(f.protocol, f.code) for f in frames] == [(remote, key)]


def test_decoder_tolerates_stretched_pulses_and_rejects_noise():
    timings = [round(t * 1.15) for t in LG_REMOTE.timings(Key.OK)]
    assert [f.code for f in ir.decode(timings)] == [LG_REMOTE.code(Key.OK)]
    broken = LG_REMOTE.timings(Key.OK)
    broken[20] = 5000  # a space no bit has
    assert ir.decode(broken) == []
    assert ir.decode([9000, 2250, 562]) == [ir.DecodedFrame(ir.NEC, None)]  # NEC repeat


def test_pronto_sendir_offsets_and_errors():
    code = parse_pronto("0000 006D 0001 0001 0010 0020 0030 0040")
    assert code.once == (0x10, 0x20) and code.repeat == (0x30, 0x40)
    assert code.sendir("1:1", 7, 2) == "sendir,1:1,7,38029,2,3,16,32,48,64"
    with pytest.raises(ProntoError, match="preamble announces 1\\+1 pairs"):
        parse_pronto("0000 006D 0001 0001 0010 0020")
    with pytest.raises(ProntoError, match="only 0000"):
        parse_pronto("0100 006D 0000 0000")
