"""A model's init_cfg checked where a run starts: MMEngine read it once
training started, after some 700 lines of set-up (a newcomer's journey)."""
import pytest
import torch.nn as nn
from mmengine.config import Config

from dld.engine.init_cfg_check import check_init_cfgs, init_cfgs, warn_unmatched_init_layers
from dld.engine.runner_settings import ConfigSettingError


def _cfg(*backbone_inits, **student):
    return Config(dict(model=dict(type='DLDDistiller', student=dict(
        type='TextRecognizer', backbone=dict(type='Mine', init_cfg=list(backbone_inits)),
        **student))))


def test_every_init_cfg_of_the_model_is_found_with_its_setting():
    cfg = _cfg(dict(type='Kaiming', layer='Conv2d',
                    override=dict(type='Normal', name='head')), dict(type='Constant', val=1),
               encoder=dict(type='E', init_cfg=dict(type='Xavier')))
    assert [s for s, _ in init_cfgs(cfg.model)] == [
        'model.student.backbone.init_cfg[0]', 'model.student.backbone.init_cfg[0].override',
        'model.student.backbone.init_cfg[1]', 'model.student.encoder.init_cfg']
    check_init_cfgs(cfg)  # all known


def test_a_misspelt_initializer_is_named_with_the_close_ones():
    with pytest.raises(ConfigSettingError, match=r"^model.student.backbone.init_cfg: no weight "
                       r"initializer 'Kaimin'; did you mean 'Kaiming'\?"):
        check_init_cfgs(_cfg(dict(type='Kaimin', layer='Conv2d')))


def test_a_pretrained_file_that_is_not_there_or_a_url_is_refused(tmp_path):
    missing = str(tmp_path / 'imagenet.pth')
    with pytest.raises(ConfigSettingError, match=r'^model.student.backbone.init_cfg: its '
                       rf"Pretrained checkpoint is not there: '{missing}'"):
        check_init_cfgs(_cfg(dict(type='Pretrained', checkpoint=missing)))
    with pytest.raises(ConfigSettingError, match=r'^model.student.backbone.init_cfg: '
                       'https://x/y.pth: DLD reads checkpoints from local files only'):
        check_init_cfgs(_cfg(dict(type='Pretrained', checkpoint='https://x/y.pth')))
    (tmp_path / 'imagenet.pth').write_bytes(b'')
    check_init_cfgs(_cfg(dict(type='Pretrained', checkpoint=missing)))


class _Backbone(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.norm = nn.BatchNorm2d(4)


def test_a_layer_name_no_layer_has_is_warned_of_as_initialising_nothing():
    """layer='Conv' (for Conv2d) set nothing, without a word."""
    model = nn.Module()
    model.student = nn.Module()
    model.student.backbone = _Backbone()
    said = warn_unmatched_init_layers(model, _cfg(dict(type='Kaiming', layer=['Conv', '_ConvNd']),
                                                  dict(type='Constant', layer='BatchNorm2d')))
    assert said == ["model.student.backbone.init_cfg[0]: layer 'Conv' matches no layer of that "
                    "part, so the Kaiming initializer sets nothing there; did you mean "
                    "'Conv2d'?"]  # a base class's name matches, as in MMEngine


def test_a_teacher_loaded_from_its_checkpoint_keeps_an_init_cfg_never_read(tmp_path,
                                                                           monkeypatch):
    """A teacher's config kept its first training's Pretrained file, which
    MMEngine never reads for a loaded teacher: refused, where the run trains
    fine (a review); a '~' path is read as the loaders read it."""
    pretrained = dict(type='Pretrained', checkpoint='weights/imagenet.pth')
    cfg = Config(dict(model=dict(type='DLDDistiller', teacher_ckpt='work_dirs/teacher',
                                 teacher=dict(backbone=dict(init_cfg=pretrained)))))
    check_init_cfgs(cfg)
    cfg.model.teacher_ckpt = None  # built from its init_cfg: read
    with pytest.raises(ConfigSettingError, match='model.teacher.backbone.init_cfg'):
        check_init_cfgs(cfg)
    monkeypatch.setenv('HOME', str(tmp_path))
    (tmp_path / 'w.pth').write_bytes(b'')
    check_init_cfgs(_cfg(dict(type='Pretrained', checkpoint='~/w.pth')))
