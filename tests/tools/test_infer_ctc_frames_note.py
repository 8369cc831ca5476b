"""infer.py says which labelled images a CTC reader read at a scale whose
frames cannot spell their label, as it says an attention decoder's too long
labels (it said nothing of CTC's: "no length of its own")."""
from types import SimpleNamespace

from mmengine.registry import init_default_scope
from repo_scripts import load_script

from dld.models.distillers.ctc_frames import frames_at_scales
from dld.registry import MODELS
from dld.utils import read_config


def test_ctc_labels_longer_than_the_frames_of_their_scale_are_said(capsys):
    init_default_scope('dld')
    model = MODELS.build(read_config('configs/teacher_plate_hr_ctc.py').model)
    size = (32, 64)
    frames = {s: f for s, (f, _) in frames_at_scales(model, size, [1.0, 0.5]).items()}
    fits_at_1 = 'AB' * (frames[1.0] // 2)  # too long at 0.5
    records = [dict(input='a.png', scale=1.0, gt_text=fits_at_1, error=None),
               dict(input='b.png', scale=0.5, gt_text=fits_at_1, error=None),
               dict(input='c.png', scale=1.0, gt_text='a' * frames[1.0], error=None),
               dict(input='d.png', scale=1.0, text='x', error=None)]  # unlabelled
    reader = SimpleNamespace(recognizer=model, base_size=size, case_sensitive=False)
    load_script('tools/infer.py')._note_text_limit(records, reader)
    err = capsys.readouterr().err
    assert err.startswith('infer.py: 2 labelled image(s) were read at a scale whose CTC frames '
                          'cannot spell their label')
    assert f"b.png: {fits_at_1!r} needs {len(fits_at_1)} frame(s), scale 0.5 gives " \
        f"{frames[0.5]})" in err
    load_script('tools/infer.py')._note_text_limit(records[:1], reader)
    assert capsys.readouterr().err == ''
