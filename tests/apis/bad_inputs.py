"""Every kind of bad input file the inferencer must survive, made on disk."""
import os
import os.path as osp

import cv2
import numpy as np

#: name -> whether the inferencer reads it (True) or reports an error (False).
EXPECTED_OK = {
    'missing.png': False,      # broken symlink: the file is gone
    'folder.png': False,       # a folder, not a file
    'empty.png': False,        # 0 bytes
    'not_an_image.png': False,  # text
    'truncated.png': False,    # first half of a PNG
    'one_pixel.png': True,     # 1x1
    'huge.png': True,          # 10000x10000
    'gray.png': True,          # 1 channel
    'rgba.png': True,          # 4 channels
    'sixteen_bit.png': True,   # uint16
}


def plate_like(h: int = 24, w: int = 72, c: int = 3) -> np.ndarray:
    rng = np.random.default_rng(0)
    img = rng.integers(0, 255, size=(h, w, c), dtype=np.uint8)
    return img


def make_bad_inputs(folder: str) -> dict:
    """Write one file per case of :data:`EXPECTED_OK`; returns name -> path."""
    os.makedirs(folder, exist_ok=True)
    paths = {name: osp.join(folder, name) for name in EXPECTED_OK}
    os.symlink(osp.join(folder, 'gone.png'), paths['missing.png'])
    os.makedirs(paths['folder.png'])
    open(paths['empty.png'], 'wb').close()
    with open(paths['not_an_image.png'], 'w') as f:
        f.write('this is not an image\n')
    ok, png = cv2.imencode('.png', plate_like())
    assert ok
    with open(paths['truncated.png'], 'wb') as f:
        f.write(png.tobytes()[:len(png) // 2])
    cv2.imwrite(paths['one_pixel.png'], np.full((1, 1, 3), 128, np.uint8))
    cv2.imwrite(paths['huge.png'], np.zeros((10000, 10000), np.uint8))
    cv2.imwrite(paths['gray.png'], plate_like(c=1)[..., 0])
    cv2.imwrite(paths['rgba.png'], plate_like(c=4))
    cv2.imwrite(paths['sixteen_bit.png'], plate_like(c=3).astype(np.uint16) * 257)
    return paths
