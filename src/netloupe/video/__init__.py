"""Action recognition from video on a synthetic set with a known answer (moving digits), explained.

Many-to-one (clip class) and synced many-to-many (per frame: moving digit in view or not) with a CNN + LSTM,
and a Conv3d network; Grad-CAM over space and time scored against the moving digit's position and the deciding frames.
"""

from .data import CLASSES, VideoSet, make_video_set
from .explain import conv3d_gradcam, frame_gradcam, pointing_game, temporal_share
from .models import CNNLSTM, Conv3DNet, build_video_model

__all__ = [
    "CLASSES",
    "CNNLSTM",
    "Conv3DNet",
    "VideoSet",
    "build_video_model",
    "conv3d_gradcam",
    "frame_gradcam",
    "make_video_set",
    "pointing_game",
    "temporal_share",
]
