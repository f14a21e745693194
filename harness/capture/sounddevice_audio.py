"""Audio from a sound device (a capture card's audio interface, ALSA, PulseAudio through ALSA's
``pulse`` device) read with sounddevice and stamped onto a capture's timeline.

Two clocks meet here: the sound card's sample clock (samples are counted, never lost inside a
stream) and the host's monotonic clock (``time.monotonic()``, which V4L2 buffer timestamps and
the capture clock use). ``SampleClock`` maps sample index ``n`` to host seconds with a line
``host = origin + n / rate``:

* a block cannot reach the host before it was sampled, so the block of each second that
  waited least bounds the latency from below; a least-squares line through those per-second
  minima gives ``origin`` and ``rate``: the card's real sample rate, so the audio-vs-host
  clock drift is *measured* (``drift_ppm``) and *corrected* (samples are placed at their
  fitted times, not at the nominal rate).

The host time of a block is PortAudio's ADC time (``time_info.inputBufferAdcTime``, mapped from
PortAudio's stream clock onto ``time.monotonic()`` by reading both in the callback) when those
times agree with the sample count, otherwise the callback's arrival time. The two differ by the
path's latency, so the choice is made once (``timing="auto"``): arrival times until the ADC
times' line is fitted after the warm-up, then ADC times if they lie within ``ADC_JITTER_S`` of
it (at most ``DECIDE_BY_S`` of sound), and kept from then on. Only ADC times that stop coming
or stray beyond ``ADC_FAIL_JITTER_S`` force one change to arrival times. Capture health
records the decision, its reason and any forced change (``audio_timing*``). Over ALSA's
``pulse`` plugin the ADC times here wandered by several ms (read raw they gave a 35 kHz
apparent rate), so the arrival times are used there.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

import numpy as np

from detectors.media import AudioChunk, VideoFrame
from harness.capture.base import Capture
from harness.capture.wav_recorder import WavRecorder
from harness.errors import InfrastructureError

WARMUP_S = 2.0
"""Seconds at the start of a stream left out of the fit: an audio server delivers a backlog
and settles its buffers there."""
FIT_WINDOW_S = 60
"""Seconds of one-second minima the fit looks back on."""
ADC_JITTER_S = 0.001
"""Largest jitter of PortAudio's ADC times (seconds from the fitted line) for them to be
trusted over the callbacks' arrival times."""
JITTER_BLOCKS = 200
"""Recent blocks the jitter is measured on."""
DECIDE_BY_S = 12.0
"""Seconds of sound after which ``timing="auto"`` settles on arrival times if the ADC times'
jitter is still unknown (no ADC times, or too few blocks)."""
ADC_FAIL_JITTER_S = 0.005
"""Jitter of the chosen ADC times (seconds) beyond which they are given up for arrival
times, once (a forced change, recorded in capture health)."""


class SampleClock:
    """Sample index -> host monotonic seconds (see the module docstring).

    Each block gives ``lag = host - n / nominal rate``; the smallest lag of every second of
    samples is the block that waited least. A line through those minima (after the warm-up)
    gives the origin and the real rate; before there are three, the smallest lag so far and
    the nominal rate are used.
    """

    def __init__(self, nominal_rate: int) -> None:
        self.nominal_rate = nominal_rate
        self.rate = float(nominal_rate)
        self.origin: float | None = None
        self._minima: dict[int, tuple[int, float]] = {}  # second -> (n, smallest lag)
        self._deviations: deque[float] = deque(maxlen=JITTER_BLOCKS)

    def observe(self, n_end: int, host_end: float) -> None:
        """Sample ``n_end`` (exclusive end of a block) was at the host at ``host_end``."""
        lag = host_end - n_end / self.nominal_rate
        second = n_end // self.nominal_rate
        if second >= WARMUP_S or self.origin is None:
            best = self._minima.get(second)
            if best is None or lag < best[1]:
                self._minima[second] = (n_end, lag)
        fitted = [v for k, v in self._minima.items() if WARMUP_S <= k < second]
        if len(fitted) >= 3:
            fitted = fitted[-FIT_WINDOW_S:]
            n = np.array([f[0] for f in fitted], np.float64)
            lags = np.array([f[1] for f in fitted], np.float64)
            slope, origin = np.polyfit(n, lags, 1)
            self.rate = 1.0 / (1.0 / self.nominal_rate + slope)
            self.origin = float(origin)
            for old in [k for k in self._minima if k < second - FIT_WINDOW_S - 1]:
                del self._minima[old]
        elif self.origin is None or lag < self.origin:
            self.origin = lag
        if len(fitted) >= 3:
            self._deviations.append(abs(host_end - self.host_time(n_end)))

    @property
    def jitter_s(self) -> float | None:
        """Largest distance (seconds) of the recent blocks' times from the fitted line, once
        it is fitted: tiny for a card's ADC times, the scheduling noise for arrival times."""
        return max(self._deviations) if len(self._deviations) >= JITTER_BLOCKS // 2 else None

    def host_time(self, n: int) -> float:
        """Host monotonic seconds of sample ``n``."""
        assert self.origin is not None
        return self.origin + n / self.rate

    @property
    def drift_ppm(self) -> float:
        """How fast the card's clock runs against the host's, in parts per million."""
        return (self.rate / self.nominal_rate - 1.0) * 1e6


class SoundDeviceAudio:
    """A sounddevice ``InputStream`` whose blocks go to ``deliver`` as ``AudioChunk`` items.

    ``to_capture(host_seconds)`` maps host monotonic time onto the capture timeline, or
    returns None while that mapping is not known yet (no video yet): audio before it is
    counted in ``dropped_blocks`` and not delivered.
    """

    def __init__(
        self,
        device: str | int | None,
        deliver: Callable[[AudioChunk], None],
        to_capture: Callable[[float], float | None],
        *,
        rate: int = 48_000,
        channels: int = 2,
        timing: str = "auto",
    ) -> None:
        if timing not in ("auto", "adc", "arrival"):
            raise ValueError(f"timing: expected auto, adc or arrival, got {timing!r}")
        self.device, self.rate, self.channels, self.timing = device, rate, channels, timing
        self.deliver, self.to_capture = deliver, to_capture
        self.clock = SampleClock(rate)
        self._adc_clock = SampleClock(rate)
        self.samples = 0
        self.overruns = 0
        self.dropped_blocks = 0
        self.error: str | None = None
        self._stream = None
        self._lock = threading.Lock()
        self._pa_to_host: float | None = None
        self._use_adc = timing == "adc"
        self.decision: str | None = None if timing == "auto" else f"timing={timing} (rig)"
        """Why the blocks are placed by the clock they are (None while ``auto`` decides)."""
        self.decided_at_s: float | None = None
        """Seconds of sound at which ``auto`` decided."""
        self.forced_change: str | None = None
        """Why the chosen ADC times were given up for arrival times, if they were."""

    def start(self) -> None:
        """Open and start the input stream; InfrastructureError names the device if it fails."""
        import sounddevice as sd

        try:
            self._stream = sd.InputStream(
                device=self.device,
                samplerate=self.rate,
                channels=self.channels,
                dtype="float32",
                callback=self._callback,
            )
            self._stream.start()
        except (sd.PortAudioError, ValueError) as error:
            raise InfrastructureError(f"audio device {self.device!r}: {error}") from None

    def stop(self) -> None:
        """Stop and close the input stream (idempotent); blocks already delivered stay
        delivered, and the counters keep their values for ``health()``."""
        if self._stream is not None:
            self._stream.stop()
            self._stream.close()
            self._stream = None

    @property
    def uses_adc_time(self) -> bool:
        """Whether blocks are placed by PortAudio's ADC times (else by arrival)."""
        return self._use_adc

    def _callback(self, indata: np.ndarray, frames: int, time_info, status) -> None:
        t = self.place(
            frames,
            arrival=time.monotonic(),
            current=time_info.currentTime,
            adc=time_info.inputBufferAdcTime,
            overflow=bool(status.input_overflow),
        )
        if t is None:
            return
        try:
            self.deliver(AudioChunk(t, indata.copy(), self.rate))
        except Exception as error:  # never let an exception kill PortAudio's thread silently
            self.error = f"{type(error).__name__}: {error}"

    def place(
        self, frames: int, *, arrival: float, current: float, adc: float, overflow: bool = False
    ) -> float | None:
        """Capture time (seconds) of the next block of ``frames`` samples, from what PortAudio
        tells its callback: ``arrival`` (host monotonic seconds, read in the callback),
        ``current`` and ``adc`` (``currentTime`` and ``inputBufferAdcTime``, PortAudio's stream
        clock; ``adc`` 0 when the host API gives none). None while the capture timeline is
        not known yet (the block is counted in ``dropped_blocks``)."""
        with self._lock:
            if overflow:
                self.overruns += 1
            # PortAudio's stream clock -> host monotonic: both read now, the smallest gap wins
            gap = arrival - current
            self._pa_to_host = gap if self._pa_to_host is None else min(self._pa_to_host, gap)
            start = self.samples
            self.samples += frames
            self.clock.observe(self.samples, arrival)
            if adc > 0:
                self._adc_clock.observe(self.samples, adc + self._pa_to_host + frames / self.rate)
            self._decide(adc > 0)
            clock = self._adc_clock if self._use_adc else self.clock
            t = self.to_capture(clock.host_time(start))
            if t is None:
                self.dropped_blocks += 1
            return t

    def _decide(self, adc_given: bool) -> None:
        """``timing="auto"``: choose the clock once; give up ADC times once if they fail."""
        watching_adc = self._use_adc and self.forced_change is None and self.timing == "auto"
        if self.decision is not None and not watching_adc:
            return  # settled for good: nothing to compute in PortAudio's callback
        seconds = self.samples / self.rate
        jitter = self._adc_clock.jitter_s
        if self.decision is None:
            if jitter is not None:
                self._use_adc = jitter <= ADC_JITTER_S
                verdict = "<=" if self._use_adc else ">"
                self.decision = (
                    f"ADC times' jitter {jitter * 1000:.2f} ms {verdict} {ADC_JITTER_S * 1000:g} ms"
                )
            elif seconds >= DECIDE_BY_S:
                self.decision = f"no usable ADC times in {DECIDE_BY_S:g} s"
            else:
                return
            self.decided_at_s = round(seconds, 3)
        else:  # ADC times chosen by auto: watch them
            if not adc_given:
                reason = "ADC times stopped"
            elif jitter is not None and jitter > ADC_FAIL_JITTER_S:
                reason = (
                    f"ADC times' jitter {jitter * 1000:.2f} ms > {ADC_FAIL_JITTER_S * 1000:g} ms"
                )
            else:
                return
            self._use_adc = False
            self.forced_change = f"adc -> arrival at {seconds:.3f} s of sound: {reason}"

    def health(self) -> dict:
        """JSON-ready audio-capture health."""
        clock = self._adc_clock if self.uses_adc_time else self.clock
        return {
            "audio_device": str(self.device),
            "audio_samples": self.samples,
            "audio_overruns": self.overruns,
            "audio_blocks_before_video": self.dropped_blocks,
            "audio_timing": "adc" if self.uses_adc_time else "arrival",
            "audio_timing_decision": self.decision,
            "audio_timing_decided_at_s": self.decided_at_s,
            "audio_timing_forced_change": self.forced_change,
            "audio_drift_ppm": round(float(clock.drift_ppm), 1),
        }


class VideoWithDeviceAudio(Capture):
    """Video from another capture (e.g. the ``stream`` backend), sound from a sound device.

    The video capture's own audio is ignored; the device's audio is placed on the video's
    timeline through its clock (``CaptureClock``: host time minus the video path's lowest
    latency). The difference in latency between the two paths is the rig's AV offset, which
    ``onglass calibrate --av`` measures and ``av_sync`` subtracts.

    ``recording`` is the video capture's (its picture, and the stream's own sound); the
    device's sound, the one the detectors hear, goes to ``audio_recording`` beside it
    (``<recording>.device-audio.wav``, sample 0 = capture time 0, flushed as it goes).
    """

    backend = "video+audio-device"

    def __init__(
        self,
        video: Capture,
        audio_device: str | int | None,
        *,
        rate: int = 48_000,
        channels: int = 2,
        timing: str = "auto",
    ) -> None:
        super().__init__(video.stall_threshold_s)
        self.video = video
        self.health = video.health  # one set of counters for the test
        self.recording = video.recording
        self.audio_recording = (
            None
            if video.recording is None
            else video.recording.with_name(video.recording.stem + ".device-audio.wav")
        )
        self._wav_queue: deque[AudioChunk] = deque()
        self.audio = SoundDeviceAudio(
            audio_device, self._deliver_audio, self._to_capture, rate=rate,
            channels=channels, timing=timing,
        )  # fmt: skip
        video.subscribe(self._from_video)

    @property
    def source(self):
        """The video capture's source (where the recording's timeline starts), if any."""
        return getattr(self.video, "source", None)

    def _to_capture(self, host: float) -> float | None:
        return self.clock.capture_time(host) if self.clock.synced else None

    def _from_video(self, item: VideoFrame | AudioChunk) -> None:
        if isinstance(item, VideoFrame):
            self._deliver(item)

    def _deliver_audio(self, chunk: AudioChunk) -> None:
        self.health.audio_chunks += 1
        if self.audio_recording is not None:
            self._wav_queue.append(chunk)  # written by the capture thread, not PortAudio's
        self._deliver(chunk)

    def _write_wav(self, wav: WavRecorder | None) -> None:
        chunks = []
        while self._wav_queue:
            chunks.append(self._wav_queue.popleft())
        if wav is not None and chunks:
            wav.write(chunks)

    def _run(self) -> None:
        wav = None
        if self.audio_recording is not None:
            wav = WavRecorder(self.audio_recording, self.audio.rate, self.audio.channels)
        self.video.start()
        try:
            self.audio.start()
            while not self._stopping.wait(0.1):
                if self.video.ended.is_set():
                    break
                self.error = self.video.error or self.audio.error
                self.health.update_details(self.audio.health())
                self._write_wav(wav)
        finally:
            self.audio.stop()
            self.video.stop()
            self.error = self.video.error or self.audio.error
            self.health.update_details(self.audio.health())
            self._write_wav(wav)
            if wav is not None:
                wav.close()
