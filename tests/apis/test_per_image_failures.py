"""PlateRecognizer: a failure while preparing or reading one image costs that
image's record only; the other images of its batch are read as without it.

The model is a tiny DLD, untrained: which texts it reads does not matter
here, only that each image gets the reading it gets in a batch that works.
"""
import numpy as np
import pytest
from mmengine.config import Config
from tiny_dld import dld_config

from dld.apis import PlateRecognizer


@pytest.fixture(scope='module')
def reader(tmp_path_factory):
    cfg = Config(dld_config(str(tmp_path_factory.mktemp('no_data'))))
    return PlateRecognizer(cfg, None, device='cpu', batch_size=8, random_weights=True)


def _plates(n):
    """``n`` different plate-sized BGR images."""
    rng = np.random.default_rng(0)
    return [rng.integers(0, 256, (24, 72, 3), dtype=np.uint8) for _ in range(n)]


def _assert_same_readings(got, expected):
    """Texts and scales equal; confidences to float noise (a batch of
    another size may sum in another order)."""
    assert [(r['text'], r['scale']) for r in got] == [(r['text'], r['scale']) for r in expected]
    assert [r['confidence'] for r in got] == pytest.approx(
        [r['confidence'] for r in expected], rel=1e-5, abs=1e-7)


def test_a_failed_batch_forward_is_retried_image_by_image(reader, monkeypatch):
    images = _plates(4)
    expected = reader(images)['predictions']
    real = reader._predict
    batches = []

    def fails_with_image_2(packed, scale):
        sources = [p['data_samples'].lr_path for p in packed]
        batches.append(sources)
        if 'array[2]' in sources:
            raise RuntimeError('image 2 breaks the model')
        return real(packed, scale)

    monkeypatch.setattr(reader, '_predict', fails_with_image_2)
    out = reader(images)
    recs = out['predictions']
    assert batches[0] == ['array[0]', 'array[1]', 'array[2]', 'array[3]']
    assert sorted(batches[1:]) == [['array[0]'], ['array[1]'], ['array[2]'], ['array[3]']]
    assert out['num_failed'] == 1
    assert recs[2]['error_type'] == 'RuntimeError'
    assert recs[2]['error'] == 'model forward failed: image 2 breaks the model'
    assert recs[2]['text'] is None and recs[2]['input'] == 'array[2]'
    others = [0, 1, 3]
    assert [recs[i]['error'] for i in others] == [None] * 3
    _assert_same_readings([recs[i] for i in others], [expected[i] for i in others])


def test_an_image_the_pipeline_fails_on_is_one_error_record(reader, monkeypatch):
    images = _plates(3)
    expected = reader(images)['predictions']
    real = reader.pipeline

    def fails_on_image_1(results):
        if results['lr_path'] == 'array[1]':
            raise KeyError('no such key')
        return real(results)

    monkeypatch.setattr(reader, 'pipeline', fails_on_image_1)
    out = reader(images)
    recs = out['predictions']
    assert out['num_failed'] == 1 and len(recs) == 3
    assert recs[1]['error_type'] == 'KeyError'
    assert recs[1]['error'] == "preprocessing failed: 'no such key'"
    assert recs[1]['input'] == 'array[1]' and recs[1]['text'] is None
    others = [0, 2]
    assert [recs[i]['error'] for i in others] == [None] * 2
    _assert_same_readings([recs[i] for i in others], [expected[i] for i in others])


def test_labels_are_checked_against_the_model_s_dictionary_not_a_default_test_set_s(
        tmp_path, caplog):
    """Decoders given a dictionary of their own (Chinese plates), the test
    set's left at the plate one: every line of a label file was refused,
    'outside the dictionary', and no image was read."""
    from mmengine.logging import MMLogger
    from plate_files import write_png
    chars = tmp_path / 'chars.txt'
    chars.write_text(''.join(f'{c}\n' for c in '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ京'),
                     encoding='utf-8')
    cfg = Config(dld_config(str(tmp_path / 'no_data')))
    for part in ('teacher', 'student'):
        cfg.model[part].decoder.dictionary = dict(type='Dictionary', dict_file=str(chars),
                                                  with_blank=True)
    reader = PlateRecognizer(cfg, None, device='cpu', random_weights=True)
    for name in ('a.png', 'b.png'):
        write_png(str(tmp_path / name), 16, 48)
    labels = tmp_path / 'labels.txt'
    labels.write_text('a.png\t京A12345\nb.png\tABC1234\n', encoding='utf-8')
    logger = MMLogger.get_current_instance()
    logger.addHandler(caplog.handler)
    try:
        records = reader(str(labels))['predictions']
    finally:
        logger.removeHandler(caplog.handler)
    assert [r.get('error') for r in records] == [None, None], records
    assert [r['gt_text'] for r in records] == ['京A12345', 'ABC1234']
    said = [r.getMessage() for r in caplog.records if 'holds other characters' in r.getMessage()]
    assert len(said) == 1 and "labels are checked against the model's" in said[0]
