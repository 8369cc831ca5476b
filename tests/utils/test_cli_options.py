"""--cfg-options values MMEngine would take wrongly are argument errors."""
import argparse

import pytest

from dld.cli_options import ConfigOptionsAction, misspelt_word


def _parse(*items):
    parser = argparse.ArgumentParser()
    parser.add_argument('--cfg-options', nargs='+', action=ConfigOptionsAction)
    return parser.parse_args(['--cfg-options', *items]).cfg_options


@pytest.mark.parametrize('item, says', [
    ('model.init_student_from_teacher=flase', "did you mean False"),
    ('model.train_selector=Ture', "did you mean True"),
    ('model.losses.feature=none', "did you mean None"),
    ("model.losses.logit=dict(type='KLDivLoss',temperature=1.0)", 'set its keys one by one'),
    ("test_evaluator=[dict(type='PlateRecogMetric')]", 'one by one'),
    ('model.losses.logit={"type": "KLDivLoss"}', 'one by one'),
    ('train_cfg.max_epochs', 'takes key=value pairs'),
])
def test_values_mmengine_would_take_wrongly_are_refused(item, says, capsys):
    with pytest.raises(SystemExit):
        _parse(item)
    err = capsys.readouterr().err
    assert says in err and item.split('=')[0] in err


def test_words_and_quoted_strings_parse_as_mmengine_parses_them():
    assert _parse('a=false', 'b=TRUE', 'c=None', 'd=beam', "e='tree'", 'f=(1.0,0.8)') == dict(
        a=False, b=True, c=None, d='beam', e='tree', f=(1.0, 0.8))


@pytest.mark.parametrize('value, meant', [
    ('flase', 'False'), ('fasle', 'False'), ('ture', 'True'), ('Treu', 'True'),
    ('nnoe', 'None'), ('null', 'None'), ('none', 'None'),
    ('True', None), ('false', None), ('None', None), ('text', None), ('sampled', None),
    ('top1_right', None), ("'flase'", None), ('0.5', None)])
def test_misspelt_words_are_told_apart_from_other_values(value, meant):
    assert misspelt_word(value) == meant
