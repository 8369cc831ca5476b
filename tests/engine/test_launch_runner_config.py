"""dld.engine.launch.load_runner_config: the config as the tools' runner sees it."""
import argparse
import os.path as osp

import pytest
import torch.utils.data

from dld.engine.launch import load_runner_config

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _args(**cfg_options):
    return argparse.Namespace(config=osp.join(REPO, 'configs', 'dld_plate.py'),
                              launcher='none', work_dir=None, cfg_options=cfg_options)


def test_a_loader_without_workers_drops_persistent_workers():
    cfg = load_runner_config(_args(**{'train_dataloader.num_workers': 0}))
    assert cfg.train_dataloader.persistent_workers is False
    # The loaders that keep their workers keep them alive.
    assert cfg.val_dataloader.num_workers > 0 and cfg.val_dataloader.persistent_workers
    # What PyTorch would otherwise refuse, and now accepts.
    kwargs = dict(num_workers=0, persistent_workers=True)
    with pytest.raises(ValueError, match='persistent_workers'):
        torch.utils.data.DataLoader([0], **kwargs)
    torch.utils.data.DataLoader([0], num_workers=0,
                                persistent_workers=cfg.train_dataloader.persistent_workers)


def test_the_shipped_loaders_are_left_as_configured():
    cfg = load_runner_config(_args())
    for name in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        loader = cfg[name]
        assert loader.persistent_workers == (loader.num_workers > 0)


def test_custom_imports_given_on_the_command_line_are_imported(tmp_path, monkeypatch):
    """read_config imports the file's custom_imports; ones given by
    --cfg-options came after it, and were ignored (a typo trained on)."""
    import sys
    (tmp_path / 'cli_imported_pkg').mkdir()
    (tmp_path / 'cli_imported_pkg' / '__init__.py').write_text('IMPORTED = True\n')
    monkeypatch.chdir(tmp_path)
    monkeypatch.delitem(sys.modules, 'cli_imported_pkg', raising=False)
    load_runner_config(_args(**{'custom_imports.imports': ['cli_imported_pkg']}))
    assert sys.modules['cli_imported_pkg'].IMPORTED
    with pytest.raises(ImportError, match='cli_missing_pkg'):
        load_runner_config(_args(**{'custom_imports.imports': ['cli_missing_pkg']}))
    # and where the inference tools and reports load a config
    from dld.apis.model_loading import load_config
    with pytest.raises(ImportError, match='cli_missing_pkg'):
        load_config(osp.join(REPO, 'configs', 'dld_plate.py'),
                    {'custom_imports.imports': ['cli_missing_pkg']})
