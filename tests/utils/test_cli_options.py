"""--cfg-options values MMEngine cannot parse are argument errors."""
import argparse

import pytest

from dld.cli_options import ConfigOptionsAction


def _parse(*items):
    parser = argparse.ArgumentParser()
    parser.add_argument('--cfg-options', nargs='+', action=ConfigOptionsAction)
    return parser.parse_args(['--cfg-options', *items]).cfg_options


@pytest.mark.parametrize('item, says', [
    ("model.losses.logit=dict(type='KLDivLoss',temperature=1.0)",
     'set its keys one by one (model.losses.logit.type=... model.losses.logit.temperature=...)'),
    ("test_evaluator=[dict(type='PlateRecogMetric')]", 'set the keys of each item the config '
                                                       'has by its index (test_evaluator.0.type'
                                                       '=... test_evaluator.1.type=...)'),
    # a key once (it said visualizer.vis_backends.type=... twice), an item added in a config
    ("visualizer.vis_backends=[dict(type='LocalVisBackend'),dict(type='TensorboardVisBackend')]",
     '(visualizer.vis_backends.0.type=... visualizer.vis_backends.1.type=...); an item the '
     'config lacks is added in a config of your own'),
    ('model.losses.logit={"type": "KLDivLoss"}', 'one by one (model.losses.logit.type=...)'),
    # its own keys, not another setting's (it suggested ...dataset.loss_weight=...)
    ("train_dataloader.dataset=dict(ann_file='a.txt')", '(train_dataloader.dataset.ann_file=...)'),
    ('train_cfg.max_epochs', 'takes key=value pairs'),
])
def test_values_mmengine_would_take_wrongly_are_refused(item, says, capsys):
    with pytest.raises(SystemExit):
        _parse(item)
    err = capsys.readouterr().err
    assert says in err and item.split('=')[0] in err


def test_other_values_parse_as_mmengine_parses_them():
    assert _parse('a=false', 'b=TRUE', 'c=None', 'd=none', "e='tree'", 'f=(1.0,0.8)') == dict(
        a=False, b=True, c=None, d='none', e='tree', f=(1.0, 0.8))


def test_spaces_inside_a_value_are_kept():
    """A folder named 'Daten München' stays one (MMEngine deletes the space)."""
    assert _parse('data_root=/data/Daten München/', "name='x y'", 'scales=[0.5, 1.0]',
                  'names=[a b, c]', 'pairs=[(1, 2), [a, b], c]', 'flag=True',
                  'empty=[]') == dict(data_root='/data/Daten München/', name='x y',
                                    scales=[0.5, 1.0], names=['a b', 'c'],
                                    pairs=[(1, 2), ['a', 'b'], 'c'], flag=True, empty=[])


@pytest.mark.parametrize('item', ['model.scales=[1.0,0.8]]', 'model.scales=[(1.0,0.8]',
                                  'name=a)b,c'])
def test_brackets_that_do_not_pair_up_are_refused(item, capsys):
    """They parsed as another value ([1.0], [], []) without a word."""
    with pytest.raises(SystemExit):
        _parse(item)
    assert f'{item}: its brackets do not pair up' in capsys.readouterr().err


def test_a_list_of_bracketed_items_parses():
    """MMEngine recursed without end on these."""
    assert _parse('a=(1,2),(3,4)', 'b=[1],[2]', 'c=[a,,b]', 'd=a,') == dict(
        a=[(1, 2), (3, 4)], b=[[1], [2]], c=['a', '', 'b'], d=['a'])


def test_a_value_in_quotes_of_its_own_is_that_string_commas_and_brackets_included(capsys):
    """The shell keeps the inner quotes of "key='a,b'": MMEngine made it a
    list, and a folder named 'plates (2024' was refused as unpaired brackets."""
    assert _parse("data_root='/data/plates,2024/'", 'name="a (b"', "t='[1,2]'",
                  "u='(1.0,0.8)'") == dict(data_root='/data/plates,2024/', name='a (b',
                                           t=[1, 2], u=(1.0, 0.8))
    assert _parse('data_root=/data/plates,2024/') == dict(data_root=['/data/plates', '2024/'])
    # other quoted values parse as they did: a quoted number, word or tuple of the shell
    assert _parse("n='3'", "flag='False'", 'scales="(1.0,0.8)"'.replace('"', '')) == dict(
        n=3, flag=False, scales=(1.0, 0.8))
