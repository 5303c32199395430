"""microcue: local, privacy-first micro-expression spotting, from Python.

The same pipeline as the ``microcue`` command line: MediaPipe's face models (run in tract, inside
this package), a spotter that measures each face against its own baseline, and a reader that
labels each brief movement with a cue of the lexicon. Nothing leaves the machine.

>>> import microcue
>>> analyzer = microcue.Analyzer()                        # loads the face models once
>>> events = analyzer.analyze("clip.mp4", consent="self")  # doctest: +SKIP
>>> events.to_pandas()                                    # doctest: +SKIP

Every event is a hypothesis with a confidence, never a verdict: microcue does not detect lies
and does not diagnose anything. Its limits (culture, each person's own baseline, lighting,
30 fps cameras, pupil size) are in ``LIMITS`` as (topic, text) pairs.
"""

from __future__ import annotations

import json
import os
import warnings
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Optional, Sequence, Union

import numpy as np

from . import _microcue
from ._microcue import (
    BLENDSHAPE_NAMES,
    LIMITS,
    REGION_NAMES,
    AnalysisError,
    InputError,
    MicrocueError,
    __version__,
)

__all__ = [
    "Analyzer",
    "Events",
    "Signals",
    "lexicon",
    "read_openface",
    "event_schema",
    "EVENT_COLUMNS",
    "BLENDSHAPE_NAMES",
    "REGION_NAMES",
    "LIMITS",
    "MicrocueError",
    "InputError",
    "AnalysisError",
    "ConsentError",
    "NoFaceWarning",
    "__version__",
]

PathLike = Union[str, "os.PathLike[str]"]

#: The fields of an event, in the order ``microcue analyze`` writes them (docs/formats.md).
#: ``evidence`` is left out of an event's dict when empty, as in the CLI's JSON Lines.
EVENT_COLUMNS = (
    "track",
    "onset_s",
    "apex_s",
    "offset_s",
    "duration_ms",
    "scale",
    "cue",
    "side",
    "intensity",
    "confidence",
    "valence",
    "evidence",
)

_CONSENTS = ("self", "given")


class ConsentError(MicrocueError):
    """Raised when a recording is analysed without saying whose it is (``consent=``)."""


class NoFaceWarning(UserWarning):
    """Issued when no frame of a video had a face: there are no events."""


class Events(list):
    """The events of one analysis: a list of dicts, one per event, as ``microcue analyze``
    writes them (JSON Lines, docs/formats.md), in the order it writes them.

    ``summary`` holds what the analysis saw: ``frames``, ``frames_with_face``, ``duration_s``
    and ``fps`` (``None`` when unknown).
    """

    summary: Dict[str, Any]

    def __init__(self, events: Iterable[Dict[str, Any]] = (), summary: Optional[Dict[str, Any]] = None):
        super().__init__(events)
        self.summary = dict(summary or {})

    def to_arrow(self) -> "pyarrow.Table":  # noqa: F821
        """The events as a ``pyarrow.Table`` with the schema of ``microcue batch``'s
        events.parquet (without its path column): see :func:`event_schema`."""
        import pyarrow as pa

        schema = event_schema()
        columns = {
            name: [event.get(name, []) if name == "evidence" else event[name] for event in self]
            for name in schema.names
        }
        return pa.table(columns, schema=schema)

    def to_pandas(self) -> "pandas.DataFrame":  # noqa: F821
        """The events as a ``pandas.DataFrame``, one row per event (``evidence`` as lists)."""
        import pandas as pd

        rows = [{**event, "evidence": event.get("evidence", [])} for event in self]
        return pd.DataFrame.from_records(rows, columns=list(EVENT_COLUMNS))


def event_schema() -> "pyarrow.Schema":  # noqa: F821
    """The Arrow schema of an events table: the spotter's own types (``intensity`` and
    ``confidence`` are 32-bit floats; ``evidence`` is a list of ``{channel, delta}``)."""
    import pyarrow as pa

    evidence = pa.struct(
        [pa.field("channel", pa.string(), nullable=False), pa.field("delta", pa.float32(), nullable=False)]
    )
    return pa.schema(
        [
            pa.field("track", pa.uint32(), nullable=False),
            pa.field("onset_s", pa.float64(), nullable=False),
            pa.field("apex_s", pa.float64(), nullable=False),
            pa.field("offset_s", pa.float64(), nullable=False),
            pa.field("duration_ms", pa.float64(), nullable=False),
            pa.field("scale", pa.string(), nullable=False),
            pa.field("cue", pa.string(), nullable=False),
            pa.field("side", pa.string(), nullable=False),
            pa.field("intensity", pa.float32(), nullable=False),
            pa.field("confidence", pa.float32(), nullable=False),
            pa.field("valence", pa.string(), nullable=False),
            pa.field("evidence", pa.list_(pa.field("item", evidence, nullable=False)), nullable=False),
        ]
    )


@dataclass
class Signals:
    """Per-face, per-frame signals: one row per face per frame, in frame order (frames without
    a face have no row). The schema of ``microcue analyze --signals-out`` (docs/formats.md), as
    arrays.

    ``landmarks`` and ``region_motion`` are ``None`` when the source has none (OpenFace CSVs
    have no landmarks; ``Analyzer(region_motion=False)`` measures no region motion); a row
    without them is NaN.
    """

    #: (rows,) float64: presentation time of the frame, seconds.
    times: np.ndarray
    #: (rows,) uint32: which face.
    track: np.ndarray
    #: (rows,) float32: face presence score in [0, 1].
    presence: np.ndarray
    #: (rows, 52) float32: MediaPipe blendshape scores in the order of ``BLENDSHAPE_NAMES``.
    blendshapes: np.ndarray
    #: (rows, 3) float32: head yaw, pitch, roll in degrees.
    head_pose: np.ndarray
    #: (rows, 478, 3) float32: face mesh in image pixels, or None.
    landmarks: Optional[np.ndarray] = None
    #: (rows, 13, 2) float32: motion of each region of ``REGION_NAMES`` (inter-ocular distances), or None.
    region_motion: Optional[np.ndarray] = None
    #: (rows,) float32: how far back region motion's reference frame was, seconds, or None.
    region_motion_lag_s: Optional[np.ndarray] = None
    #: (rows,) uint64: index of each row's frame in the video (CSV row for OpenFace).
    frame_index: Optional[np.ndarray] = None
    #: Frames decoded (video) or rows read (OpenFace).
    frames: int = 0
    #: Cues this source cannot express (OpenFace); the spotter never emits them.
    unavailable_cues: List[str] = field(default_factory=list)
    #: What an import did and what is missing, one sentence each.
    notes: List[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.times)


def _signals(columns: Dict[str, Any], frames: int, unavailable: Sequence[str] = (), notes: Sequence[str] = ()) -> Signals:
    return Signals(frames=frames, unavailable_cues=list(unavailable), notes=list(notes), **columns)


def _events(jsonl: str, summary: Optional[Dict[str, Any]] = None) -> Events:
    return Events((json.loads(line) for line in jsonl.splitlines()), summary)


def _check_consent(path: PathLike, consent: Optional[str]) -> None:
    if consent is None:
        raise ConsentError(
            f"whose recording is `{os.fspath(path)}`? microcue analyses other people only with their consent.\n"
            'hint: pass consent="self" (only you are on it) or consent="given" (everyone on it agreed)'
        )
    if consent not in _CONSENTS:
        raise ConsentError(f'consent must be "self" or "given", got {consent!r}')


class Analyzer:
    """Holds the face models (loaded once, in the constructor) and the analysis settings;
    reuse one Analyzer for many files. Analyses release the GIL, so threads analyse in
    parallel.

    :param max_faces: most faces tracked at once.
    :param region_motion: measure region motion (optical flow); the spotter's pulse detector,
        which finds most brief movements, needs it.
    :param spotter_config: spotter settings: a dict (any subset of the fields of
        ``microcue_core::SpotterConfig``) or the path of a JSON file, as
        ``microcue analyze --spotter-config``.
    :param ffmpeg: read formats other than H.264 MP4/MOV, Y4M and image folders through the
        ``ffmpeg`` command when it is installed.
    :param single_thread: keep each analysis on one thread, decoding included. By default the
        face tracker gets a thread of its own when the machine has two cores, as in
        ``microcue analyze``; a worker given one CPU (a Ray actor, a process pool) should set it.
    """

    def __init__(
        self,
        max_faces: int = 1,
        region_motion: bool = True,
        spotter_config: Union[None, Dict[str, Any], PathLike] = None,
        ffmpeg: bool = True,
        single_thread: bool = False,
    ):
        config_text = None
        if isinstance(spotter_config, dict):
            config_text = json.dumps(spotter_config)
        elif spotter_config is not None:
            with open(spotter_config, encoding="utf-8") as file:
                config_text = file.read()
        self._analyzer = _microcue.Analyzer(
            max_faces, region_motion, config_text, ffmpeg, single_thread
        )

    def analyze(self, path: PathLike, consent: Optional[str] = None, *, fps: Optional[float] = None) -> Events:
        """The events of a video, as ``microcue analyze`` finds them.

        :param path: a video (MP4/MOV H.264 natively, other formats through ffmpeg), a folder
            of image frames (with ``fps``) or a .y4m file.
        :param consent: ``"self"`` (only you are on it) or ``"given"`` (everyone on it agreed);
            required.
        :param fps: frame rate of an image folder.
        :raises ConsentError: without ``consent``.
        :raises InputError: the video cannot be read; when decoding stops part-way, the error's
            ``events`` holds the events found before.
        :raises AnalysisError: the face analysis failed.

        A video without a face gives no events and a :class:`NoFaceWarning`.
        """
        _check_consent(path, consent)
        jsonl, summary = self._analyzer.analyze(os.fspath(path), fps)
        return self._finish(_events(jsonl, _public(summary)), summary)

    def signals(self, path: PathLike, consent: Optional[str] = None, *, fps: Optional[float] = None) -> Signals:
        """The per-face, per-frame signals of a video (landmarks, blendshapes, head pose,
        region motion, times) as NumPy arrays. ``analyze_signals`` of them gives the events of
        ``analyze``. Same parameters and errors as :meth:`analyze`."""
        _check_consent(path, consent)
        columns, jsonl, summary = self._analyzer.signals(os.fspath(path), fps)
        self._finish(_events(jsonl), summary)
        return _signals(columns, summary["frames"])

    def analyze_signals(
        self,
        signals: Optional[Signals] = None,
        *,
        times: Any = None,
        blendshapes: Any = None,
        track: Any = None,
        presence: Any = None,
        head_pose: Any = None,
        landmarks: Any = None,
        region_motion: Any = None,
        region_motion_lag_s: Any = None,
        unavailable_cues: Sequence[str] = (),
    ) -> Events:
        """The events of signals you bring, as ``microcue analyze --signals`` finds them:
        a :class:`Signals` (from :meth:`signals` or :func:`read_openface`), or arrays.

        :param times: (rows,) seconds; the rows of each track in time order.
        :param blendshapes: (rows, 52) MediaPipe blendshape scores (``BLENDSHAPE_NAMES``).
        :param track: (rows,) face ids (default 0).
        :param presence: (rows,) presence in [0, 1] (default 1).
        :param head_pose: (rows, 3) yaw, pitch, roll in degrees (default 0).
        :param landmarks: (rows, 478, 3) image pixels, or None.
        :param region_motion: (rows, 13, 2) region motion (``REGION_NAMES``), or None.
        :param region_motion_lag_s: (rows,) reference lag of region motion, seconds.
        :param unavailable_cues: cue ids the source cannot express (never emitted).
        :raises InputError: arrays of the wrong shape or values (the message names the row).
        """
        if signals is not None:
            times, blendshapes, track, presence = signals.times, signals.blendshapes, signals.track, signals.presence
            head_pose, landmarks = signals.head_pose, signals.landmarks
            region_motion, region_motion_lag_s = signals.region_motion, signals.region_motion_lag_s
            unavailable_cues = list(unavailable_cues) or signals.unavailable_cues
        if times is None or blendshapes is None:
            raise InputError("analyze_signals needs `times` and `blendshapes` (or a Signals)")
        times = np.ascontiguousarray(times, dtype=np.float64).ravel()
        rows = len(times)

        def flat(values: Any, dtype: Any, default: float, per_row: int) -> np.ndarray:
            if values is None:
                return np.full(rows * per_row, default, dtype=dtype)
            return np.ascontiguousarray(values, dtype=dtype).ravel()

        def optional(values: Any) -> Optional[np.ndarray]:
            return None if values is None else np.ascontiguousarray(values, dtype=np.float32).ravel()

        jsonl = self._analyzer.analyze_signals(
            times,
            flat(track, np.uint32, 0, 1),
            flat(presence, np.float32, 1.0, 1),
            np.ascontiguousarray(blendshapes, dtype=np.float32).ravel(),
            optional(landmarks),
            flat(head_pose, np.float32, 0.0, 3),
            optional(region_motion),
            optional(region_motion_lag_s),
            [str(cue) for cue in unavailable_cues],
        )
        return _events(jsonl, {"frames": rows})

    @staticmethod
    def _finish(events: Events, summary: Dict[str, Any]) -> Events:
        if summary.get("decode_error"):
            error = InputError(summary["decode_error"])
            error.events = events
            raise error
        if summary.get("no_face"):
            warnings.warn(summary["no_face"], NoFaceWarning, stacklevel=3)
        return events


def _public(summary: Dict[str, Any]) -> Dict[str, Any]:
    return {key: summary[key] for key in ("frames", "frames_with_face", "duration_s", "fps")}


def lexicon() -> List[Dict[str, Any]]:
    """The twelve cues (what each looks like, FACS, blendshape signature, valence, response
    lines and scripts), as ``microcue lexicon --json`` prints them."""
    return json.loads(_microcue.lexicon_json())


def read_openface(path: PathLike, fps: Optional[float] = None) -> Signals:
    """An OpenFace 2.x CSV (``FeatureExtraction`` output) as :class:`Signals`, with the action
    units mapped onto the blendshape channels (docs/formats.md). ``unavailable_cues`` lists what
    OpenFace cannot express and ``notes`` what was imported; ``Analyzer.analyze_signals`` of the
    result gives the events of ``microcue analyze --openface``.

    :param fps: the source's frame rate, to take times from the ``frame`` column (OpenFace
        writes timestamp 0 for image folders).
    :raises InputError: the file cannot be read or is not OpenFace output (the message names
        the line and column).
    """
    columns, unavailable, notes = _microcue.read_openface(os.fspath(path), fps)
    return _signals(columns, len(columns["times"]), unavailable, notes)
