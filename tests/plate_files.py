"""Tiny plate images written by the tests."""
import os
import os.path as osp

import cv2
import numpy as np


def write_png(path, h=20, w=60, value=128, channels=3):
    os.makedirs(osp.dirname(path), exist_ok=True)
    img = np.full((h, w, channels), value, np.uint8)
    img[:, : w // 2] = 255 - value  # some structure, so resizes are visible
    assert cv2.imwrite(path, img)
    return path
