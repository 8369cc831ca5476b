"""Rendering clean HR plate crops with OpenCV's Hershey fonts.

A :class:`PlateStyle` is drawn once per track (colours, font, border, band)
and a pose once per frame, so the frames of a track show the same plate
seen slightly differently, as in a real video track.
"""
import hashlib
from dataclasses import dataclass
from typing import List, Tuple

import cv2
import numpy as np

from .plate_text import plate_rows

# Canonical plate canvas: 130 mm x 400 mm, like real Brazilian plates.
_PLATE_H, _PLATE_W = 130, 400
# Two-row plates (a ``/`` in the pattern): 170 mm x 200 mm, like Brazilian
# Mercosur motorcycle plates.
_PLATE2_H, _PLATE2_W = 170, 200
_FONTS = (cv2.FONT_HERSHEY_SIMPLEX, cv2.FONT_HERSHEY_DUPLEX, cv2.FONT_HERSHEY_COMPLEX,
          cv2.FONT_HERSHEY_TRIPLEX)
_LETTERS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ'


@dataclass
class PlateStyle:
    layout: str
    bg: Tuple[int, int, int]
    fg: Tuple[int, int, int]
    border: Tuple[int, int, int]
    border_px: int
    font: int
    thickness: int
    band: Tuple[int, int, int]
    band_text: str
    surround: Tuple[int, int, int]
    dirt: float


def _jitter(rng: np.random.Generator, bgr, amount: int = 18) -> Tuple[int, int, int]:
    return tuple(int(np.clip(c + rng.integers(-amount, amount + 1), 0, 255)) for c in bgr)


def sample_style(layout: str, rng: np.random.Generator) -> PlateStyle:
    """Colours and typography of one plate; ``layout`` picks the family."""
    font = int(_FONTS[rng.integers(len(_FONTS))])
    thickness = int(rng.integers(5, 11))
    surround = tuple(int(v) for v in rng.integers(10, 150, size=3))
    dirt = float(rng.uniform(0.0, 0.25))
    if layout == 'mercosur':
        return PlateStyle(layout, _jitter(rng, (240, 240, 240), 15), _jitter(rng, (25, 25, 25)),
                          _jitter(rng, (30, 30, 30)), int(rng.integers(2, 6)), font, thickness,
                          _jitter(rng, (160, 70, 10), 25), 'BRASIL', surround, dirt)
    city = ''.join(_LETTERS[i] for i in rng.integers(0, 26, size=int(rng.integers(4, 9))))
    band_text = f'{_LETTERS[rng.integers(26)]}{_LETTERS[rng.integers(26)]} - {city}'
    if layout == 'brazilian' and rng.random() < 0.25:  # commercial: red, white text
        bg, fg = _jitter(rng, (40, 40, 190)), _jitter(rng, (235, 235, 235), 10)
    else:  # private: grey, black text (also used for custom layouts)
        bg, fg = _jitter(rng, (185, 185, 185), 25), _jitter(rng, (25, 25, 25))
    return PlateStyle(layout, bg, fg, fg, int(rng.integers(2, 6)), font, thickness, bg,
                      band_text, surround, dirt)


def _text_strip(text: str, font: int, thickness: int) -> np.ndarray:
    """White text on black at its natural width, trimmed to the ink."""
    (tw, th), base = cv2.getTextSize(text, font, 3.0, thickness)
    pad = thickness + 2
    strip = np.zeros((th + base + 2 * pad, tw + 2 * pad), np.uint8)
    cv2.putText(strip, text, (pad, pad + th), font, 3.0, 255, thickness, cv2.LINE_AA)
    # trim to the ink so the text fills the box
    x, y, bw, bh = cv2.boundingRect(strip)  # the ink's box (non-zero pixels)
    return strip[y:y + bh, x:x + bw] if bw and bh else strip


def _text_mask(text: str, font: int, thickness: int, size: Tuple[int, int]) -> np.ndarray:
    """White text on black, stretched to ``size`` (H, W): plate fonts are
    condensed, so the strip is drawn at natural width and squeezed."""
    strip = _text_strip(text, font, thickness)
    return cv2.resize(strip, (size[1], size[0]), interpolation=cv2.INTER_AREA)


def glyph_fingerprint() -> str:
    """A digest of the plate text as this OpenCV draws it in every font and
    stroke width :func:`sample_style` draws. OpenCV 4 draws four Hershey
    stroke fonts, OpenCV 5 one sans face in two weights for the same flags:
    the same seed then renders other glyphs, which ``meta.json`` records."""
    digest = hashlib.sha1()
    for font in _FONTS:
        for thickness in range(5, 11):
            # the glyphs as drawn, before any resize (whose rounding may
            # follow the CPU's instructions): the fonts, nothing else
            strip = _text_strip('ABC-1234', font, thickness)
            digest.update(np.asarray(strip.shape, np.int64).tobytes() + strip.tobytes())
    return digest.hexdigest()[:16]


def undrawable_chars(text: str) -> List[str]:
    """The characters of ``text`` that OpenCV draws as ``?`` (OpenCV 4: any
    beyond ASCII; OpenCV 5: those its built-in font lacks)."""
    def ink(t: str) -> np.ndarray:
        canvas = np.zeros((40, 160), np.uint8)
        cv2.putText(canvas, t, (4, 30), cv2.FONT_HERSHEY_SIMPLEX, 1.0, 255, 2)
        return canvas

    marks = [ink('?' * n) for n in range(1, 5)]  # one a UTF-8 byte in OpenCV 4
    return [c for c in dict.fromkeys(text) if not c.isascii()
            and any(np.array_equal(ink(c), m) for m in marks)]


def _blend(canvas: np.ndarray, mask: np.ndarray, y: int, x: int, color) -> None:
    h, w = mask.shape
    a = (mask.astype(np.float32) / 255.0)[..., None]
    roi = canvas[y:y + h, x:x + w].astype(np.float32)
    canvas[y:y + h, x:x + w] = (roi * (1 - a) + np.float32(color) * a).astype(np.uint8)


def draw_plate(display: str, style: PlateStyle, rng: np.random.Generator) -> np.ndarray:
    """The flat plate, ``(130, 400, 3)`` BGR uint8; ``(170, 200, 3)`` for a
    two-row one (``display`` holding a ``/``), its rows one above the other,
    the longer one as wide as the plate's text, the other as wide as its
    share of characters, centred."""
    rows = plate_rows(display)
    plate_h, plate_w = (_PLATE_H, _PLATE_W) if len(rows) == 1 else (_PLATE2_H, _PLATE2_W)
    plate = np.empty((plate_h, plate_w, 3), np.uint8)
    plate[:] = style.bg
    band_h = 30 if style.layout == 'mercosur' else 24
    if style.layout == 'mercosur':
        plate[:band_h] = style.band
        mask = _text_mask(style.band_text, cv2.FONT_HERSHEY_SIMPLEX, 4, (16, 80))
        _blend(plate, mask, 7, (plate_w - 80) // 2, (245, 245, 245))
    else:
        mask = _text_mask(style.band_text, cv2.FONT_HERSHEY_SIMPLEX, 4,
                          (14, min(240, 22 * len(style.band_text), plate_w - 16)))
        _blend(plate, mask, 6, (plate_w - mask.shape[1]) // 2, style.fg)
    margin_x = int(rng.integers(16, 30))
    text_h = int(rng.integers(68, 84))
    if len(rows) == 1:
        top = band_h + (plate_h - band_h - text_h) // 2
        mask = _text_mask(display, style.font, style.thickness, (text_h, plate_w - 2 * margin_x))
        _blend(plate, mask, top, margin_x, style.fg)
    else:  # two rows of 51-62 px, 8 px apart
        row_h, gap = text_h * 3 // 4, 8
        top = band_h + (plate_h - band_h - 2 * row_h - gap) // 2
        longest = max(len(r) for r in rows)
        for k, row in enumerate(rows):
            row_w = (plate_w - 2 * margin_x) * len(row) // longest
            mask = _text_mask(row, style.font, style.thickness, (row_h, row_w))
            _blend(plate, mask, top + k * (row_h + gap), (plate_w - row_w) // 2, style.fg)
    b = style.border_px
    cv2.rectangle(plate, (b // 2, b // 2), (plate_w - 1 - b // 2, plate_h - 1 - b // 2),
                  style.border, b, cv2.LINE_AA)
    if style.dirt > 0:  # low-frequency grime
        noise = rng.normal(0, 1, size=(4, 12)).astype(np.float32)
        noise = cv2.resize(noise, (plate_w, plate_h), interpolation=cv2.INTER_CUBIC)
        shade = 1.0 - style.dirt * np.maximum(noise, 0)
        shaded = plate * shade[..., None]
        np.clip(shaded, 0, 255, out=shaded)
        plate = shaded.astype(np.uint8)
    return plate


def render_frame(plate: np.ndarray, style: PlateStyle, rng: np.random.Generator,
                 size: Tuple[int, int] = (64, 192), max_rotate: float = 4.0,
                 max_perspective: float = 0.05) -> np.ndarray:
    """Place the flat plate in an HR crop of ``size`` (H, W) at a random pose.

    The plate fills 80-95% of the crop (a detector's loose box) and the rest
    is the car around it; lighting varies per frame. Rendering is done at
    twice the size and area-downsampled to avoid aliasing.
    """
    h, w = size
    H, W = 2 * h, 2 * w
    fill = rng.uniform(0.80, 0.95)
    pw, ph = W * fill, H * fill * rng.uniform(0.92, 1.05)
    cx = W / 2 + rng.uniform(-0.04, 0.04) * W
    cy = H / 2 + rng.uniform(-0.05, 0.05) * H
    ang = np.deg2rad(rng.uniform(-max_rotate, max_rotate))
    corners = np.float32([[-pw / 2, -ph / 2], [pw / 2, -ph / 2], [pw / 2, ph / 2],
                          [-pw / 2, ph / 2]])
    corners += rng.uniform(-max_perspective, max_perspective, size=(4, 2)) * np.float32([pw, ph])
    rot = np.float32([[np.cos(ang), -np.sin(ang)], [np.sin(ang), np.cos(ang)]])
    dst = corners @ rot.T + np.float32([cx, cy])
    plate_h, plate_w = plate.shape[:2]
    src = np.float32([[0, 0], [plate_w, 0], [plate_w, plate_h], [0, plate_h]])
    mat = cv2.getPerspectiveTransform(src, dst.astype(np.float32))
    canvas = np.empty((H, W, 3), np.uint8)
    canvas[:] = _jitter(rng, style.surround, 10)
    cv2.warpPerspective(plate, mat, (W, H), dst=canvas, flags=cv2.INTER_LINEAR,
                        borderMode=cv2.BORDER_TRANSPARENT)
    out = cv2.resize(canvas, (w, h), interpolation=cv2.INTER_AREA).astype(np.float32)
    # lighting: a global gain and a soft horizontal gradient (shadow)
    gain = rng.uniform(0.55, 1.1)
    grad = np.linspace(1.0, rng.uniform(0.6, 1.0), w, dtype=np.float32)
    if rng.random() < 0.5:
        grad = grad[::-1]
    out *= gain * grad[None, :, None]
    out += 2.0 * rng.standard_normal(size=out.shape, dtype=np.float32)
    np.rint(out, out=out)
    np.clip(out, 0, 255, out=out)
    return out.astype(np.uint8)
