"""Drawing a plate prediction (text, confidence, chosen scale) onto the image.

Plates are tiny (LR crops are 20-70 px wide), so the image is enlarged to a
readable height and the prediction goes on a band below it rather than over
the characters it reads. OpenCV's fonts draw ASCII only: other text (Ü,
Cyrillic) is drawn in DejaVu Sans, and a character it lacks (a Chinese
province) as its code point, ``<U+4EAC>``.
"""
import functools
import os
import os.path as osp
from typing import List, Optional

import cv2
import numpy as np

from .plate_matching import plate_read_right

_FONT = cv2.FONT_HERSHEY_SIMPLEX


def _is_ascii(text: str) -> bool:
    return all(32 <= ord(c) < 127 for c in text)


@functools.cache
def _unicode_font(size: int):
    """DejaVu Sans (shipped with matplotlib, a dependency) at ``size`` px,
    and the characters it has glyphs for; None without FreeType."""
    try:
        import matplotlib
        from matplotlib.ft2font import FT2Font
        from PIL import ImageFont
        path = osp.join(matplotlib.get_data_path(), 'fonts', 'ttf', 'DejaVuSans.ttf')
        return ImageFont.truetype(path, size), FT2Font(path)
    except (ImportError, OSError):
        return None


def _drawable(text: str, glyphs) -> str:
    """``text`` with each character the font lacks (a CJK province) written
    as its code point, ``<U+4EAC>``: two plates that differ there still
    look different."""
    return ''.join(c if glyphs is not None and glyphs.get_char_index(ord(c)) else
                   f'<U+{ord(c):04X}>' for c in text)


def _put_unicode(canvas: np.ndarray, text: str, origin, scale: float, color,
                 bold: bool) -> None:
    """Draw ``text`` as OpenCV's Hershey font would at ``scale``, with a
    font that has accents, Cyrillic, Greek (OpenCV's draws ASCII only)."""
    size = max(8, int(round(28 * scale)))
    font = _unicode_font(size)
    if font is None:
        text = ''.join(c if _is_ascii(c) else '?' for c in text)
        cv2.putText(canvas, text, origin, _FONT, scale, color, 1 + bold, cv2.LINE_AA)
        return
    from PIL import Image, ImageDraw
    font, glyphs = font
    text = _drawable(text, glyphs)
    width = canvas.shape[1] - 8
    length = font.getlength(text)
    if length > width:  # shrink a line that would not fit the canvas width
        font, glyphs = _unicode_font(max(6, int(size * width / length)))
    x, y = origin
    rgb = Image.fromarray(np.ascontiguousarray(canvas[..., ::-1]))
    fill = tuple(color[::-1])
    ImageDraw.Draw(rgb).text((x, y), text, font=font, fill=fill, anchor='ls',
                             stroke_width=int(bold), stroke_fill=fill)
    canvas[...] = np.asarray(rgb)[..., ::-1]


def draw_prediction(img: np.ndarray, lines: List[str], height: int = 96,
                    min_width: int = 320, correct: Optional[bool] = None) -> np.ndarray:
    """The image enlarged to ``height`` (nearest, to show the real pixels),
    over a band with one text line each.

    Args:
        img: ``(H, W, C)`` uint8 BGR or grey (``C`` 1 or 3, or 2-D).
        lines: text lines, the first drawn larger (the prediction).
        correct: colours the first line green/red when the label is known.

    Returns:
        np.ndarray: ``(H', W', 3)`` uint8 BGR.
    """
    if img.ndim == 2:
        img = img[..., None]
    if img.shape[2] == 1:
        img = np.repeat(img, 3, axis=2)
    h, w = img.shape[:2]
    new_w = max(1, int(round(w * height / max(h, 1))))
    # A 10000-px-wide sliver would make an unusable picture: cap the width.
    new_w = min(new_w, 8 * height)
    big = cv2.resize(img, (new_w, height), interpolation=cv2.INTER_NEAREST
                     if h < height else cv2.INTER_AREA)
    width = max(new_w, min_width)
    line_h = 28
    band_h = 12 + line_h * len(lines)
    canvas = np.full((height + band_h, width, 3), 255, np.uint8)
    canvas[:height, :new_w] = big
    y = height + 26
    for i, line in enumerate(lines):
        scale, thick = (0.8, 2) if i == 0 else (0.55, 1)
        color = (0, 0, 0)
        if i == 0 and correct is not None:
            color = (0, 140, 0) if correct else (0, 0, 200)
        if not _is_ascii(line):
            _put_unicode(canvas, line, (4, y), scale, color, bold=thick > 1)
            y += line_h
            continue
        # Shrink a line that would not fit the canvas width.
        (tw, _), _ = cv2.getTextSize(line, _FONT, scale, thick)
        if tw > width - 8:
            scale *= (width - 8) / tw
        cv2.putText(canvas, line, (4, y), _FONT, scale, color, thick, cv2.LINE_AA)
        y += line_h
    return canvas


def format_confidence(confidence: float, digits: int = 3) -> str:
    """``0.874``; a confidence below ``10**-digits`` in two significant digits
    (``1.2e-05``): a CTC model's whole-string probabilities are often that
    small, and ``0.000`` would hide how they compare."""
    if confidence != 0 and abs(confidence) < 10**-digits:
        return f'{confidence:.2g}'
    return f'{confidence:.{digits}f}'


def prediction_lines(record: dict) -> List[str]:
    """The text lines drawn for one inference record; the scale and cost
    line where the record has them (a plain recognizer's test reading has
    no scale)."""
    lines = [f"{record['text'] or '(empty)'}  p={format_confidence(record['confidence'], 2)}"]
    cost = []
    if record.get('scale') is not None:
        h, w = record['input_size']
        cost.append(f"scale {record['scale']:g} ({h}x{w})")
    if record.get('gflops') is not None:
        cost.append(f"{record['gflops'] * 1e3:.1f} MFLOPs")
    if cost:
        lines.append('  '.join(cost))
    if record.get('gt_text'):
        lines.append(f"label {record['gt_text']}")
    return lines


def save_visualization(img: np.ndarray, record: dict, out_dir: str, index: int,
                       case_sensitive: bool = False) -> str:
    """Draw ``record`` on ``img`` and write it under ``out_dir``; returns the path.

    The file is named ``{index:06d}_{track}_{stem}.png``: the index keeps
    images of the same name from different folders apart, the track says
    whose frame it is (every ICPR track names its frames ``lr-001`` ...).
    A file of that name is never overwritten (another recognizer, or an
    earlier run, drew it): the new one is ``..._{stem}-1.png`` and so on.
    ``case_sensitive``: whether a reading is right only with the label's
    case, as the config's plate metric counts it.
    """
    os.makedirs(out_dir, exist_ok=True)
    stem = osp.splitext(osp.basename(record.get('path') or record['input']))[0]
    track = osp.basename(str(record.get('track_id') or '').rstrip('/'))
    if track and track != stem:
        stem = f'{track}_{stem}'
    stem = ''.join(c if c.isalnum() or c in '-_.' else '_' for c in stem)[-80:] or 'image'
    gt = record.get('gt_text')
    correct = None if not gt else plate_read_right(record['text'], gt, case_sensitive)
    canvas = draw_prediction(img, prediction_lines(record), correct=correct)
    ok, png = cv2.imencode('.png', canvas)
    if not ok:
        raise OSError(f'cannot encode the visualization of {record["input"]}')
    return _write_new(osp.join(out_dir, f'{index:06d}_{stem}'), png.tobytes())


def _write_new(base: str, data: bytes) -> str:
    """Write ``data`` to ``base.png``, or ``base-1.png``... where taken:
    created exclusively, so two writers never share a name."""
    for n in range(10000):
        path = f'{base}.png' if n == 0 else f'{base}-{n}.png'
        try:
            with open(path, 'xb') as f:
                f.write(data)
            return path
        except FileExistsError:
            continue
        except OSError as err:
            raise OSError(f'cannot write visualization {path}: {err.strerror or err}') from None
    raise OSError(f'cannot write visualization {base}.png: 10000 files of that name exist')
