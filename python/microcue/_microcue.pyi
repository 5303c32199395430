"""Type stubs of the extension module (Rust, PyO3). Use the ``microcue`` package's API instead."""

from typing import Any, Dict, List, Optional, Tuple

import numpy as np

__version__: str
BLENDSHAPE_NAMES: List[str]
REGION_NAMES: List[str]
LIMITS: List[Tuple[str, str]]

class MicrocueError(Exception): ...
class InputError(MicrocueError): ...
class AnalysisError(MicrocueError): ...

class Analyzer:
    def __init__(
        self,
        max_faces: int = 1,
        region_motion: bool = True,
        spotter_config: Optional[str] = None,
        ffmpeg: bool = True,
        single_thread: bool = False,
    ) -> None: ...
    def analyze(self, path: str, fps: Optional[float] = None) -> Tuple[str, Dict[str, Any]]: ...
    def signals(
        self, path: str, fps: Optional[float] = None
    ) -> Tuple[Dict[str, Optional[np.ndarray]], str, Dict[str, Any]]: ...
    def analyze_signals(
        self,
        times: np.ndarray,
        track: np.ndarray,
        presence: np.ndarray,
        blendshapes: np.ndarray,
        landmarks: Optional[np.ndarray],
        head_pose: np.ndarray,
        region_motion: Optional[np.ndarray],
        region_motion_lag_s: Optional[np.ndarray],
        unavailable_cues: List[str],
    ) -> str: ...

def lexicon_json() -> str: ...
def read_openface(
    path: str, fps: Optional[float] = None
) -> Tuple[Dict[str, Optional[np.ndarray]], List[str], List[str]]: ...
