"""Drawing a plate prediction (text, confidence, chosen scale) onto the image.

Plates are tiny (LR crops are 20-70 px wide), so the image is enlarged to a
readable height and the prediction goes on a band below it rather than over
the characters it reads. OpenCV's fonts draw ASCII only: other text (Ü,
Cyrillic) is drawn in DejaVu Sans, and a character it lacks (a Chinese
province) as its code point, ``<U+4EAC>``.
"""
import difflib
import functools
import os
import os.path as osp
from typing import List, Optional, Sequence, Tuple

import cv2
import numpy as np

from dld.utils.char_names import upper_each

from .plate_matching import plate_read_right

_FONT = cv2.FONT_HERSHEY_SIMPLEX
#: A line drawn in parts: ``(text, BGR colour)``.
Segments = List[Tuple[str, Tuple[int, int, int]]]


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


def _put_unicode(canvas: np.ndarray, segments: Segments, origin, scale: float,
                 bold: bool) -> None:
    """Draw ``(text, colour)`` segments as OpenCV's Hershey font would at
    ``scale``, with a font that has accents, Cyrillic, Greek (OpenCV's
    draws ASCII only)."""
    size = max(8, int(round(28 * scale)))
    font = _unicode_font(size)
    if font is None:
        segments = [(''.join(c if _is_ascii(c) else '?' for c in t), col)
                    for t, col in segments]
        _put_ascii(canvas, segments, origin, scale, 1 + bold)
        return
    from PIL import Image, ImageDraw
    font, glyphs = font
    segments = [(_drawable(t, glyphs), col) for t, col in segments]
    width = canvas.shape[1] - 8
    length = font.getlength(''.join(t for t, _ in segments))
    if length > width:  # shrink a line that would not fit the canvas width
        font, glyphs = _unicode_font(max(6, int(size * width / length)))
    x, y = origin
    rgb = Image.fromarray(np.ascontiguousarray(canvas[..., ::-1]))
    draw = ImageDraw.Draw(rgb)
    for text, color in segments:
        fill = tuple(color[::-1])
        draw.text((x, y), text, font=font, fill=fill, anchor='ls', stroke_width=int(bold),
                  stroke_fill=fill)
        x += font.getlength(text)
    canvas[...] = np.asarray(rgb)[..., ::-1]


def _put_ascii(canvas: np.ndarray, segments: Segments, origin, scale: float,
               thick: int) -> None:
    """Draw ``(text, colour)`` segments side by side in OpenCV's font,
    shrunk to the canvas width."""
    (tw, _), _ = cv2.getTextSize(''.join(t for t, _ in segments), _FONT, scale, thick)
    if tw > canvas.shape[1] - 8:
        scale *= (canvas.shape[1] - 8) / tw
    x, y = origin
    for text, color in segments:
        cv2.putText(canvas, text, (x, y), _FONT, scale, color, thick, cv2.LINE_AA)
        x += cv2.getTextSize(text, _FONT, scale, thick)[0][0]


RIGHT, WRONG, PLAIN = (0, 140, 0), (0, 0, 200), (0, 0, 0)  # BGR


def draw_prediction(img: np.ndarray, lines: List[str], height: int = 96,
                    min_width: int = 320, correct: Optional[bool] = None,
                    wrong: Optional[Sequence[bool]] = None) -> np.ndarray:
    """The image enlarged to ``height`` (nearest, to show the real pixels),
    over a band with one text line each.

    Args:
        img: ``(H, W, C)`` uint8 BGR or grey (``C`` 1 or 3, or 2-D).
        lines: text lines, the first drawn larger (the prediction).
        correct: colours the first line green/red when the label is known.
        wrong: with ``correct=False``, which of the first line's leading
            characters (the reading) are wrong (:func:`wrong_characters`):
            those red, the others green.

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
        segments: Segments = [(line, PLAIN)]
        if i == 0 and correct is not None:
            segments = ([(line, RIGHT if correct else WRONG)] if correct or wrong is None
                        else _marked(line, wrong))
        if _is_ascii(line):
            _put_ascii(canvas, segments, (4, y), scale, thick)
        else:
            _put_unicode(canvas, segments, (4, y), scale, bold=thick > 1)
        y += line_h
    return canvas


def _marked(line: str, wrong: Sequence[bool]) -> Segments:
    """``line``'s first ``len(wrong)`` characters green or red by ``wrong``,
    runs of one colour together; the rest of the line red."""
    segments: Segments = []
    for char, bad in zip(line, wrong):
        color = WRONG if bad else RIGHT
        if segments and segments[-1][1] == color:
            segments[-1] = (segments[-1][0] + char, color)
        else:
            segments.append((char, color))
    if len(line) > len(wrong):
        segments.append((line[len(wrong):], WRONG))
    return segments


def wrong_characters(pred: str, gt: str, case_sensitive: bool = False) -> List[bool]:
    """For each character of ``pred``: whether it is not the label's there,
    by the longest matching blocks of the two (``difflib``): in ``ABC1Z34``
    read for ``ABC1234`` only ``Z``; an extra character is wrong too."""
    norm = (lambda t: t) if case_sensitive else upper_each
    marks = [True] * len(pred)
    matcher = difflib.SequenceMatcher(None, norm(pred), norm(gt), autojunk=False)
    for tag, i1, i2, _, _ in matcher.get_opcodes():
        if tag == 'equal':
            marks[i1:i2] = [False] * (i2 - i1)
    return marks


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
    images of the same name from different folders apart, the track (its
    whole id, ``S-A_track_00007``, a set's prefix too: two sets of one
    evaluation number their items alike) says whose frame it is (every ICPR
    track names its frames ``lr-001`` ...).
    A file of that name is never overwritten (another recognizer, or an
    earlier run, drew it): the new one is ``..._{stem}-1.png`` and so on.
    ``case_sensitive``: whether a reading is right only with the label's
    case, as the config's plate metric counts it.
    """
    os.makedirs(out_dir, exist_ok=True)
    stem = osp.splitext(osp.basename(record.get('path') or record['input']))[0]
    track = str(record.get('track_id') or '').strip('/').replace('/', '_')
    if track and track != stem:
        stem = f'{track}_{stem}'
    # 'in-memory array[1]' -> 'in-memory_array_1', not '..._1_'
    stem = ''.join(c if c.isalnum() or c in '-_.' else '_' for c in stem).strip('_')[-80:] \
        or 'image'
    gt = record.get('gt_text')
    correct = None if not gt else plate_read_right(record['text'], gt, case_sensitive)
    wrong = None if correct in (None, True) else wrong_characters(
        record['text'] or '', gt, case_sensitive)
    canvas = draw_prediction(img, prediction_lines(record), correct=correct, wrong=wrong)
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
            f = open(path, 'xb')
        except FileExistsError:
            continue
        except OSError as err:
            raise OSError(f'cannot write visualization {path}: {err.strerror or err}') from None
        try:
            with f:
                f.write(data)
        except OSError as err:  # a full disk: no truncated drawing left behind
            os.remove(path)
            raise OSError(f'cannot write visualization {path}: {err.strerror or err}') from None
        return path
    raise OSError(f'cannot write visualization {base}.png: 10000 files of that name exist')
