"""End-to-end: each decoder family memorises a small synthetic plate set."""
import random
import time

import cv2
import numpy as np
import pytest
import torch

from dld.models.dictionary import PLATE_CHARS
from dld.registry import MODELS
from dld.structures.plate_data_sample import PlateDataSample

MAX_STEPS = 300


def make_plates(n: int, seed: int = 0):
    """``n`` random 3-5 character strings drawn black on white, 48x144."""
    rng = random.Random(seed)
    texts, images = [], []
    for _ in range(n):
        text = ''.join(rng.choice(PLATE_CHARS) for _ in range(rng.randint(3, 5)))
        img = np.full((48, 144, 3), 255, np.uint8)
        cv2.putText(img, text, (6, 36), cv2.FONT_HERSHEY_SIMPLEX, 1.1, (0, 0, 0), 2,
                    cv2.LINE_AA)
        texts.append(text)
        images.append(img)
    x = torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).float()
    return (x - 127.5) / 127.5, texts


def small_recognizer(decoder: dict):
    return MODELS.build(dict(
        type='TextRecognizer',
        backbone=dict(type='ResNetPlate', widths=(16, 32, 48, 64),
                      strides=((2, 2), (2, 2), (2, 1), (2, 1))),
        encoder=dict(type='TransformerEncoder', d_model=64, num_layers=1, num_heads=2,
                     dropout=0.0),
        decoder=decoder))


def overfit(model, x, texts):
    """Train until every training image is read exactly; return the steps used."""
    samples = [PlateDataSample(gt_text=t) for t in texts]
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.0)
    for step in range(1, MAX_STEPS + 1):
        model.train()
        losses = model(x, samples, mode='loss')
        loss = sum(losses.values())
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        opt.step()
        if step % 10 == 0:
            model.eval()
            preds = [p.pred_text for p in model.predict(x)]
            if preds == texts:
                return step
    return None


@pytest.mark.slow
@pytest.mark.parametrize('decoder', [
    dict(type='CTCDecoder'),
    # The transformer cell memorises the set too, but needs ~3x the steps.
    dict(type='AttentionDecoder', cell='gru', d_model=64, num_layers=1, dropout=0.0,
         max_seq_len=6),
], ids=['ctc', 'attention_gru'])
def test_decoder_overfits_64_plates_to_exact_match(decoder):
    torch.manual_seed(0)
    x, texts = make_plates(64)
    model = small_recognizer(decoder)
    start = time.time()
    steps = overfit(model, x, texts)
    print(f'{decoder["type"]}: {steps} steps, {time.time() - start:.1f} s')
    assert steps is not None, f'not 100% exact match after {MAX_STEPS} steps'
