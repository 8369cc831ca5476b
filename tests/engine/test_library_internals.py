"""The private parts of MMEngine and torch that DLD overrides or reads.

Why: an override of a method the parent renamed is never called, and a
getattr guard on a helper that went away quietly falls back, so an upgrade
would lose atomic saves, the best link, safe URL loads or bfloat16 without an
error. Each name here is one DLD relies on (where, in the id); a failure
says which to port before the new version is admitted in setup.py.
"""
import inspect

import pytest
import torch
from mmengine.dataset import BaseDataset
from mmengine.dataset import ClassBalancedDataset as MMEngineClassBalancedDataset
from mmengine.dataset import ConcatDataset as MMEngineConcatDataset
from mmengine.dataset import RepeatDataset as MMEngineRepeatDataset
from mmengine.hooks import CheckpointHook
from mmengine.model import BaseModule
from mmengine.optim.scheduler import OneCycleLR
from mmengine.optim.scheduler.param_scheduler import OneCycleParamScheduler
from mmengine.runner import Runner
from mmengine.runner import checkpoint as mmengine_checkpoint

import dld.engine  # noqa: F401 - patches MMEngine's checkpoint loading as a run does
from dld.engine.checkpoint import refuse_checkpoint_url

OVERRIDDEN = [  # (parent, name): a DLD subclass overrides or calls it
    (CheckpointHook, '_save_checkpoint_with_step'),  # AtomicCheckpointHook: atomic saves
    (CheckpointHook, '_save_best_checkpoint'),  # AtomicCheckpointHook: best.pth link
    (OneCycleLR, '_get_value'),  # dld OneCycleLR: the schedule's phases
    (BaseDataset, '_serialize_data'),  # BasePlateDataset
    (MMEngineConcatDataset, '_get_ori_dataset_idx'),  # dld ConcatDataset: later epochs
]


@pytest.mark.parametrize('parent, name', OVERRIDDEN,
                         ids=[f'{p.__name__}.{n}' for p, n in OVERRIDDEN])
def test_overridden_methods_are_still_the_parents(parent, name):
    assert callable(getattr(parent, name, None)), f'{parent.__name__}.{name} is gone'


@pytest.mark.parametrize('owner, name', [
    (Runner, '_train_loop'), (Runner, '_val_loop'), (Runner, '_test_loop'),
    (Runner, '_load_from'), (Runner, '_resume'),  # start-checkpoint check, skipped images
    (BaseDataset, '_fully_initialized'), (BaseDataset, '_metainfo'),
    (MMEngineConcatDataset, '_fully_initialized'), (MMEngineRepeatDataset, '_fully_initialized'),
    (MMEngineClassBalancedDataset, 'repeat_indices'),  # dld ClassBalancedDataset's copies
    (BaseModule, '_is_init'),  # the loaded teacher is not initialised again
    (OneCycleParamScheduler, '_schedule_phases'),  # dld OneCycleLR's phases
], ids=lambda x: getattr(x, '__name__', x))
def test_private_fields_read_or_set_are_still_set_by_their_owners(owner, name):
    assert f'self.{name} =' in inspect.getsource(owner), f'{owner.__name__} sets no {name}'


def test_private_helpers_imported_are_still_there():
    from mmengine.config import DictAction
    from mmengine.fileio import io as mmengine_io
    for module, name in [(mmengine_io, '_parse_uri_prefix'),
                         (mmengine_checkpoint, '_load_checkpoint'),
                         (mmengine_checkpoint, '_load_checkpoint_to_model'),
                         (DictAction, '_parse_int_float_bool')]:
        assert callable(getattr(module, name, None)), f'{module.__name__}.{name} is gone'


def test_the_concatenations_meta_refusal_is_still_worded_as_dld_reads_it():
    """dld's ConcatDataset names the differing keys where MMEngine's error
    speaks of 'meta information'; reworded, the keys would go unsaid."""
    assert 'meta information' in inspect.getsource(MMEngineConcatDataset.__init__)


def test_url_checkpoints_load_through_the_patched_global():
    """MMEngine's URL loading calls its module-level ``load_url``, which DLD
    replaces by a refusal (and registers a refusing loader for every scheme
    of CheckpointLoader, a private table): were the call to go elsewhere,
    URL checkpoints would download and load with ``weights_only=False``."""
    assert mmengine_checkpoint.load_url is refuse_checkpoint_url
    assert 'load_url(' in inspect.getsource(mmengine_checkpoint)
    from mmengine.runner import CheckpointLoader
    assert {'http://', 'https://', 'pavi://'} <= set(CheckpointLoader._schemes)
    assert all(loader is refuse_checkpoint_url
               for prefix, loader in CheckpointLoader._schemes.items() if prefix)


def test_the_cpu_checks_behind_amp_are_still_there():
    """dld.utils.precision falls back to float32 where they are missing."""
    assert callable(getattr(torch.cpu, '_is_avx512_bf16_supported', None))
    assert callable(getattr(torch.cpu, '_is_amx_tile_supported', None))
    assert callable(getattr(torch.ops.mkldnn, '_is_mkldnn_bf16_supported', None))


def test_torchrun_parts_the_launcher_calls_are_still_there():
    from torch.distributed.run import parse_args, run
    args = parse_args(['--nproc-per-node', '1', 'train.py'])
    assert callable(run)
    assert {'master_port', 'standalone', 'rdzv_backend', 'node_rank',
            'training_script'} <= set(vars(args))
