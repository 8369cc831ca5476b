"""The HR -> LR degradation chain shared by :class:`DegradeHR` and the
synthetic-plate generator.

The order follows how a far-away plate reaches a surveillance frame: the
camera sees it at a slightly different pose (perspective jitter), optics and
motion smear it (blur), the sensor samples it coarsely (down-scale), the
sensor adds noise, and the video codec compresses it (JPEG).
"""
import math
import numbers
from dataclasses import dataclass, fields, replace
from typing import Optional, Tuple

import cv2
import numpy as np

Range = Tuple[float, float]


@dataclass
class DegradationConfig:
    """Every knob of :func:`degrade_plate`; ranges are sampled uniformly.

    Attributes:
        perspective (float): max corner displacement, as a fraction of the
            image width/height, in [0, 0.5] (0 disables).
        blur_prob (float): probability of applying any blur.
        motion_blur_prob (float): given a blur, probability that it is a
            motion blur rather than a Gaussian one.
        gaussian_sigma (Range): Gaussian blur sigma in HR pixels.
        motion_length (Range): motion-blur kernel length in HR pixels, rounded
            to an odd number (4 is 5); below 1.5 no smear.
        scale (Range): LR width as a fraction of the HR width. Real LR plates
            are 24-68 px wide against ~2x in HR; a 192 px HR crop at 0.15-0.35
            gives 29-67 px.
        noise_sigma (Range): Gaussian noise std in grey levels, added at LR.
        jpeg_quality (Tuple[int, int]): JPEG quality range (inclusive, whole
            numbers in [0, 100], OpenCV's scale); ``None`` disables JPEG.
        gray_prob (float): probability of turning the LR image grey (many
            real frames are close to grey); the channel count is kept.
        darken (Range): multiplicative brightness factor at LR (real frames
            are dark).
        track_jitter (float | None): None: each frame of a generated track
            draws its own scale, brightness and grey-or-colour. A value in
            [0, 1): they are drawn once per track and each frame's scale and
            brightness stay within that fraction of them, as the frames of
            one video (:meth:`for_track`). ``DegradeHR`` ignores it; an
            online plate (one frame) draws its frame around a track's draw,
            from slightly wider ranges.
    """

    perspective: float = 0.04
    blur_prob: float = 0.8
    motion_blur_prob: float = 0.4
    gaussian_sigma: Range = (0.4, 1.6)
    motion_length: Range = (3.0, 9.0)
    scale: Range = (0.15, 0.35)
    noise_sigma: Range = (1.0, 8.0)
    jpeg_quality: Optional[Tuple[int, int]] = (30, 90)
    gray_prob: float = 0.3
    darken: Range = (0.5, 1.0)
    track_jitter: Optional[float] = None

    def __post_init__(self) -> None:
        # Fail when configured, naming the field, not at the first draw.
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in _RANGES or (f.name == 'jpeg_quality' and value is not None):
                _check_range(f.name, value)
                lo_ok, hi_ok = _LIMITS.get(f.name, (0, math.inf))
                if not (lo_ok <= float(value[0]) and float(value[1]) <= hi_ok):
                    raise ValueError(f'Degradation parameter {f.name!r} must lie in '
                                     f'[{lo_ok}, {hi_ok}], got {value!r}')
        if self.jpeg_quality is not None and any(
                float(q) != int(q) for q in self.jpeg_quality):
            raise ValueError(f'Degradation parameter jpeg_quality takes whole numbers, got '
                             f'{self.jpeg_quality!r}')
        for name, hi in (('blur_prob', 1), ('motion_blur_prob', 1), ('gray_prob', 1),
                         ('perspective', 0.5)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Real) \
                    or not 0 <= value <= hi:
                raise ValueError(f'Degradation parameter {name!r} must be a number in '
                                 f'[0, {hi}], got {value!r}')
        if self.track_jitter is not None and not 0 <= self.track_jitter < 1:
            raise ValueError(f'Degradation parameter track_jitter must be None or in [0, 1), '
                             f'got {self.track_jitter!r}')

    def for_track(self, rng: np.random.Generator) -> 'DegradationConfig':
        """The parameters of one track's frames.

        With ``track_jitter`` set, the track's scale, brightness and grey or
        colour are drawn here once, and each frame draws within
        ``track_jitter`` of them (relative). Without it, ``self``, and
        nothing is drawn: the default sets keep their bytes.
        """
        if self.track_jitter is None:
            return self
        j = self.track_jitter
        scale, darken = _uniform(rng, self, 'scale'), _uniform(rng, self, 'darken')
        gray = bool(rng.random() < self.gray_prob)
        return replace(self, scale=(scale * (1 - j), scale * (1 + j)),
                       darken=(darken * (1 - j), darken * (1 + j)),
                       gray_prob=1.0 if gray else 0.0, track_jitter=None)

    @classmethod
    def from_dict(cls, cfg: Optional[dict]) -> 'DegradationConfig':
        """Build from a config dict; an unknown key fails loudly."""
        cfg = dict(cfg or {})
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(cfg) - known)
        if unknown:
            raise UnknownDegradationParameter(f'Unknown degradation parameter(s) {unknown}; '
                                              f'known: {sorted(known)}')
        config = cls(**cfg)
        lo, hi = config.scale
        if not 0 < float(lo) <= float(hi) <= 1:  # here, not per track: a track's jitter
            # may take its frames a little past a draw of 1.0
            raise ValueError(f'Degradation parameter scale (the LR size as a fraction of the '
                             f'HR one) must lie in (0, 1], got {config.scale!r}')
        return config


class UnknownDegradationParameter(KeyError, ValueError):
    """A misspelt key of a degradation config: a ``KeyError`` as before, and a
    ``ValueError``, as the tools refuse a bad setting in one line."""

    def __str__(self) -> str:  # KeyError's would quote the message
        return str(self.args[0]) if self.args else ''


_RANGES = ('gaussian_sigma', 'motion_length', 'scale', 'noise_sigma', 'darken')
#: The values each range may take (others: [0, inf)); ``scale`` is checked
#: in :meth:`DegradationConfig.from_dict`, a track's jitter may pass 1.
_LIMITS = dict(jpeg_quality=(0, 100))


def _check_range(name: str, value) -> None:
    """Raise ValueError unless ``value`` is a ``(low, high)`` pair with ``low <= high``."""
    try:
        lo, hi = value
        if not all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in (lo, hi)):
            raise TypeError('not numbers')  # '1' passed float() and failed at the first draw
        ordered = float(lo) <= float(hi)
        finite = math.isfinite(float(lo)) and math.isfinite(float(hi))
    except (TypeError, ValueError) as err:
        raise ValueError(f'Degradation parameter {name!r} must be a (low, high) pair '
                         f'(one value v: (v, v)), got {value!r}') from err
    if not finite:
        raise ValueError(f'Degradation parameter {name!r} must be finite, got {value!r}')
    if not ordered:
        raise ValueError(f'Degradation parameter {name!r} is the reversed range {value!r}; '
                         f'give (low, high) with low <= high, e.g. {(hi, lo)!r}')


def _uniform(rng: np.random.Generator, cfg: 'DegradationConfig', name: str) -> float:
    """A draw from the range ``cfg.<name>`` (its value when ``low == high``)."""
    r = getattr(cfg, name)
    _check_range(name, r)  # again: a config may be changed after it was built
    lo, hi = r
    return float(lo) if hi == lo else float(rng.uniform(lo, hi))


def perspective_jitter(img: np.ndarray, rng: np.random.Generator,
                       amount: float) -> np.ndarray:
    """Move each corner by up to ``amount`` of the image size."""
    if amount <= 0:
        return img
    h, w = img.shape[:2]
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    jitter = rng.uniform(-amount, amount, size=(4, 2)) * np.float32([w, h])
    dst = (src + jitter).astype(np.float32)
    mat = cv2.getPerspectiveTransform(src, dst)
    out = cv2.warpPerspective(img, mat, (w, h), flags=cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_REPLICATE)
    return out.reshape(img.shape)


def motion_blur(img: np.ndarray, rng: np.random.Generator, length: float) -> np.ndarray:
    """Line kernel of ``length`` pixels at a random angle."""
    k = int(round(length)) | 1  # odd: a centred line (4 px is drawn as 5)
    if k < 3:  # a line of one pixel: no smear
        return img
    kernel = np.zeros((k, k), np.float32)
    kernel[k // 2, :] = 1.0
    angle = float(rng.uniform(0, 180))
    rot = cv2.getRotationMatrix2D((k / 2 - 0.5, k / 2 - 0.5), angle, 1.0)
    kernel = cv2.warpAffine(kernel, rot, (k, k))
    kernel /= max(kernel.sum(), 1e-6)
    return cv2.filter2D(img, -1, kernel, borderType=cv2.BORDER_REPLICATE).reshape(img.shape)


def degrade_plate(img: np.ndarray, rng: np.random.Generator,
                  cfg: Optional[DegradationConfig] = None) -> np.ndarray:
    """Make a low-resolution frame from an HR plate crop.

    Args:
        img (np.ndarray): ``(H, W, C)`` uint8 HR image, ``C`` in {1, 3}.
        rng (np.random.Generator): the only source of randomness, so a seeded
            generator gives the same bytes every time.
        cfg (DegradationConfig | None): parameters; defaults when None.

    Returns:
        np.ndarray: ``(h, w, C)`` uint8 LR image, ``w = round(scale * W)``.
    """
    cfg = cfg or DegradationConfig()
    if img.ndim == 2:
        img = img[..., None]
    h, w, c = img.shape
    out = perspective_jitter(img, rng, cfg.perspective)

    if rng.random() < cfg.blur_prob:
        if rng.random() < cfg.motion_blur_prob:
            out = motion_blur(out, rng, _uniform(rng, cfg, 'motion_length'))
        else:
            sigma = _uniform(rng, cfg, 'gaussian_sigma')
            out = cv2.GaussianBlur(out, (0, 0), sigmaX=max(sigma, 1e-3)).reshape(out.shape)

    scale = _uniform(rng, cfg, 'scale')
    lw = max(4, int(round(w * scale)))
    lh = max(4, int(round(h * lw / w)))
    out = cv2.resize(out, (lw, lh), interpolation=cv2.INTER_AREA).reshape(lh, lw, c)

    out = out.astype(np.float32)
    if c == 3 and rng.random() < cfg.gray_prob:
        gray = out @ np.float32([0.114, 0.587, 0.299])  # BGR weights
        out = np.repeat(gray[..., None], 3, axis=2)
    out *= _uniform(rng, cfg, 'darken')
    sigma = _uniform(rng, cfg, 'noise_sigma')
    if sigma > 0:
        out += np.float32(sigma) * rng.standard_normal(size=out.shape, dtype=np.float32)
    out = np.clip(np.rint(out), 0, 255).astype(np.uint8)

    if cfg.jpeg_quality is not None:
        q = int(rng.integers(cfg.jpeg_quality[0], cfg.jpeg_quality[1] + 1))
        ok, buf = cv2.imencode('.jpg', out, [cv2.IMWRITE_JPEG_QUALITY, q])
        if ok:
            flag = cv2.IMREAD_GRAYSCALE if c == 1 else cv2.IMREAD_COLOR
            out = cv2.imdecode(buf, flag).reshape(lh, lw, c)
    return out
