"""Fine-tuning on a dictionary of other characters: a checkpoint's decoder
rows mapped by character (tools/remap_dictionary.py), and the refusals of
load_from and teacher_ckpt that point to it."""
import pytest
import torch
from attention_dld import attention_recognizer_cfg
from mmengine.config import Config
from mmengine.registry import init_default_scope
from repo_scripts import load_script
from tiny_dld import recognizer_cfg

from dld.registry import MODELS


def _cfg(chars: str, attention: bool = False) -> dict:
    c = attention_recognizer_cfg(12) if attention else recognizer_cfg(12)
    c['decoder']['dictionary'] = dict(c['decoder'].get('dictionary') or {},
                                      type='Dictionary', chars=chars)
    return c


def _trained(tmp_path, chars: str, attention: bool = False):
    from dld.models.dictionary.checkpoint_fit import DECODER_CHARS, decoder_chars
    init_default_scope('dld')
    torch.manual_seed(0)
    model = MODELS.build(_cfg(chars, attention))
    path = tmp_path / 'trained.pth'
    torch.save(dict(state_dict=model.state_dict(),
                    meta={DECODER_CHARS: decoder_chars(model)}), path)
    return model, path


def _config(tmp_path, chars: str, attention: bool = False) -> str:
    path = tmp_path / 'new.py'
    Config(dict(default_scope='dld', model=_cfg(chars, attention))).dump(str(path))
    return str(path)


def test_load_from_of_another_dictionary_names_the_characters_and_the_way_out(tmp_path):
    from dld.engine.start_checkpoint import StartCheckpointError, check_start_checkpoint
    from dld.models.distillers.teacher_checkpoint import load_teacher_weights
    _, path = _trained(tmp_path, 'ABC0')
    with pytest.raises(StartCheckpointError, match=r"dictionary adds '-', .*python "
                       r'tools/remap_dictionary.py .*trained.pth CONFIG OUT.pth'):
        check_start_checkpoint(MODELS.build(_cfg('ABC0-')), str(path), resume=False)
    with pytest.raises(ValueError, match=r"adds '-'.*tools/remap_dictionary.py"):
        load_teacher_weights(MODELS.build(_cfg('ABC0-')), str(path))  # a DLD teacher
    with pytest.raises(StartCheckpointError, match=r"drops 'C'.*Labels of fewer characters "
                       'need no other dictionary'):
        check_start_checkpoint(MODELS.build(_cfg('AB0')), str(path), resume=False)


@pytest.mark.parametrize('attention', [False, True], ids=['ctc', 'attention'])
def test_remapped_rows_follow_the_characters_and_load(tmp_path, attention):
    from dld.apis.model_loading import read_state_dict
    from dld.engine.start_checkpoint import check_start_checkpoint
    trained, path = _trained(tmp_path, 'ABC0', attention)
    out = tmp_path / 'remapped.pth'
    # 'C' dropped, '-' and 'X' added, the rest in another order
    assert load_script('tools/remap_dictionary.py').main(
        [str(path), _config(tmp_path, '0AB-X', attention), str(out)]) == 0
    model = MODELS.build(_cfg('0AB-X', attention))
    check_start_checkpoint(model, str(out), resume=False)  # load_from takes it
    state, meta = read_state_dict(str(out))
    assert meta['decoder_chars'] == ['0AB-X']
    model.load_state_dict(state)
    old, new = trained.state_dict(), model.state_dict()
    mapped = [k for k in new if k.startswith('decoder.') and new[k].shape != old[k].shape]
    assert mapped  # the classifier (and an attention decoder's embedding)
    for key in mapped:
        for j, i in ((0, 3), (1, 0), (2, 1)):  # '0', 'A', 'B' keep their trained rows
            assert torch.equal(new[key][j], old[key][i])
        n_old, n_new = old[key].shape[0], new[key].shape[0]
        for k in range(n_old - 4):  # the special tokens keep theirs
            assert torch.equal(new[key][5 + k], old[key][4 + k])
        assert n_new - 5 == n_old - 4
    for key in old:  # everything else is the trained model's
        if key not in mapped:
            assert torch.equal(new[key], old[key])


def test_a_checkpoint_that_does_not_say_its_characters_needs_them_given(tmp_path, capsys):
    init_default_scope('dld')
    path = tmp_path / 'old.pth'
    torch.save(dict(state_dict=MODELS.build(_cfg('ABC0')).state_dict(), meta={}), path)
    tool = load_script('tools/remap_dictionary.py')
    config = _config(tmp_path, 'ABC0-')
    assert tool.main([str(path), config, str(tmp_path / 'x.pth')]) == 2
    assert '--old-chars' in capsys.readouterr().err
    assert tool.main([str(path), config, str(tmp_path / 'x.pth'), '--old-chars', 'ABC0']) == 0


def test_load_from_without_recorded_characters_says_dictionary_not_another_model(tmp_path):
    # It said "saved by another model: 2 weight(s) differ in shape ... Give
    # load_from a checkpoint of this model", where the dictionary alone differs.
    from dld.engine.start_checkpoint import StartCheckpointError, check_start_checkpoint
    init_default_scope('dld')
    path = tmp_path / 'old.pth'
    torch.save(dict(state_dict=MODELS.build(_cfg('ABC0')).state_dict(), meta={}), path)
    with pytest.raises(StartCheckpointError, match=r"trained with 4 characters, the config's "
                       r'dictionary holds 5.*tools/remap_dictionary.py'):
        check_start_checkpoint(MODELS.build(_cfg('ABC0-')), str(path), resume=False)


def test_a_python_caller_is_told_the_argument_to_give_the_characters_with():
    from dld.apis.dictionary_remap import trained_chars
    with pytest.raises(ValueError, match='with --old-chars / old_chars= '):
        trained_chars({})
    with pytest.raises(ValueError, match='map with --old-chars / old_chars=$'):
        trained_chars({'decoder_chars': ['AB', 'CD']})


@pytest.mark.parametrize('attention', [False, True], ids=['ctc', 'attention'])
def test_a_teacher_remapped_alone_and_in_a_dld_checkpoint_is_one_teacher(tmp_path, attention):
    # The new character's rows were the model's as built, wherever the global
    # generator stood: the DLD run then warned "holds another teacher than
    # model.teacher_ckpt names (3 of its weights differ)".
    from tiny_dld import dld_config

    from dld.apis.dictionary_remap import remap_dictionary
    teacher, path = _trained(tmp_path, 'ABC0', attention)
    dld = tmp_path / 'dld.pth'
    torch.save(dict(state_dict={f'teacher.{k}': v for k, v in teacher.state_dict().items()},
                    meta={'decoder_chars': ['ABC0']}), dld)
    cfg = dld_config(str(tmp_path))
    cfg['model'].update(teacher=_cfg('ABC0-', attention), student=_cfg('ABC0-', attention))
    cfg.pop('test_dataloader'), cfg.pop('test_evaluator')
    Config(cfg).dump(str(tmp_path / 'dld.py'))
    torch.manual_seed(1)
    remap_dictionary(str(path), _config(tmp_path, 'ABC0-', attention), str(tmp_path / 't.pth'))
    torch.manual_seed(2)
    remap_dictionary(str(dld), str(tmp_path / 'dld.py'), str(tmp_path / 'd.pth'))
    alone = torch.load(tmp_path / 't.pth', weights_only=True)['state_dict']
    within = torch.load(tmp_path / 'd.pth', weights_only=True)['state_dict']
    assert alone.keys() == {k[len('teacher.'):] for k in within}
    for key, value in alone.items():
        assert torch.equal(value, within[f'teacher.{key}']), key
