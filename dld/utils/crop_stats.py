"""Figures of how a plate crop looks: its size, brightness, saturation,
sharpness, noise and JPEG blockiness (``tools/analysis/compare_degradation.py``
compares sets by them, ``tools/analysis/analyze_readings.py --crop-stats``
the crops each chosen scale read), and a contact sheet of sets of crops."""
from typing import Optional


def image_stats(img) -> dict:
    """The figures of one ``(H, W, 3)`` uint8 BGR (or ``(H, W)`` grey) image."""
    import cv2
    import numpy as np
    if img.ndim == 2:
        img = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
    grey = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY).astype(np.float64)
    h, w = grey.shape
    out = dict(width=float(w), height=float(h), brightness=float(grey.mean()),
               saturation=float(cv2.cvtColor(img, cv2.COLOR_BGR2HSV)[..., 1].mean()))
    # Sharpness: the second derivative against the first (higher is sharper;
    # a blur lowers it, noise hardly moves it, the contrast cancels out).
    dx = np.abs(np.diff(grey, axis=1))
    lap = np.abs(cv2.Laplacian(grey, cv2.CV_64F)).mean()
    out['sharpness'] = float(lap / dx.mean()) if dx.mean() > 0 else 0.0
    # Noise: Immerkaer's mask (6 sigma for white noise) on the flattest fifth
    # of the image, where the plate's edges add least.
    mask = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], np.float64)
    resp = np.abs(cv2.filter2D(grey, -1, mask))[1:-1, 1:-1]
    grad = np.hypot(cv2.Sobel(grey, cv2.CV_64F, 1, 0), cv2.Sobel(grey, cv2.CV_64F, 0, 1))
    grad = grad[1:-1, 1:-1]
    flat = grad <= np.percentile(grad, 20) if grad.size else grad.astype(bool)
    out['noise'] = float(np.sqrt(np.pi / 2) * resp[flat].mean() / 6) if flat.any() else 0.0
    # JPEG blocks: column edges on the 8-pixel grid (at its best offset, as a
    # crop of a frame starts anywhere) against the rest.
    dx = dx.mean(axis=0)  # between column j and j+1
    if w >= 17:
        on = [dx[o::8].mean() for o in range(8)]
        best = int(np.argmax(on))
        rest = np.delete(dx, np.arange(best, dx.size, 8)).mean()
        out['blockiness'] = float(on[best] / rest) if rest > 0 else 1.0
    else:
        out['blockiness'] = float('nan')
    return out


def spread(items, n):
    """At most ``n`` of ``items``, evenly spread (every one where fewer)."""
    if len(items) <= n:
        return list(items)
    return [items[i * len(items) // n] for i in range(n)]


def contact_sheet(sets: dict, per_row: int = 12, zoom: int = 2,
                  marks: Optional[dict] = None):
    """One row of up to ``per_row`` frames a set, each ``zoom`` times, named.

    ``marks`` (optional): per set, a BGR colour per image, drawn as a frame
    around its tile (right and wrong readings, say)."""
    import cv2
    import numpy as np
    rows = []
    for name, images in sets.items():
        tiles = [cv2.resize(i, (i.shape[1] * zoom, i.shape[0] * zoom),
                            interpolation=cv2.INTER_NEAREST) for i in spread(images, per_row)]
        if marks and marks.get(name):
            tiles = [cv2.copyMakeBorder(t, 3, 3, 3, 3, cv2.BORDER_CONSTANT, value=colour)
                     for t, colour in zip(tiles, spread(marks[name], per_row))]
        height = max(t.shape[0] for t in tiles)
        strip = np.hstack([np.pad(t, ((0, height - t.shape[0]), (0, 4), (0, 0)),
                                  constant_values=255) for t in tiles])
        label = np.full((20, strip.shape[1], 3), 255, np.uint8)
        cv2.putText(label, name, (2, 15), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1)
        rows.append(np.vstack([label, strip]))
    width = max(r.shape[1] for r in rows)
    return np.vstack([np.pad(r, ((0, 4), (0, width - r.shape[1]), (0, 0)),
                             constant_values=255) for r in rows])
