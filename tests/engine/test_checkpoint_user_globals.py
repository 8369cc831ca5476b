"""allow_checkpoint_globals: a user's own plain-data class in a checkpoint
loads with weights_only once allowed (its refusal is in test_checkpoint.py)."""
import io

import pytest
import torch
import torch.nn as nn
from mmengine.fileio import get_file_backend
from mmengine.runner import load_checkpoint

from dld.engine import checkpoint
from dld.engine.checkpoint import ATOMIC_BACKEND, allow_checkpoint_globals, load_checkpoint_file


class RunNotes:
    """What a user might keep in a checkpoint's meta: plain data."""

    def __init__(self, author, epochs):
        self.author = author
        self.epochs = epochs


@pytest.fixture
def restore_allow_list(monkeypatch):
    """The allow-list is process-wide: leave it as it was for later tests."""
    monkeypatch.setattr(checkpoint, 'CHECKPOINT_SAFE_GLOBALS',
                        list(checkpoint.CHECKPOINT_SAFE_GLOBALS))
    saved = torch.serialization.get_safe_globals()
    yield
    torch.serialization.clear_safe_globals()
    torch.serialization.add_safe_globals(saved)


def _save_atomically(obj, path):
    """As the checkpoint hook and tools/extract_student.py write checkpoints."""
    buf = io.BytesIO()
    torch.save(obj, buf)
    get_file_backend(path, backend_args=dict(backend=ATOMIC_BACKEND)).put(buf.getvalue(), path)


def test_an_allowed_class_of_ones_own_loads_weights_only(tmp_path, restore_allow_list):
    model = nn.Linear(3, 2)
    path = str(tmp_path / 'notes.pth')
    _save_atomically(dict(state_dict=model.state_dict(), meta=dict(notes=RunNotes('kim', 7))),
                     path)
    allow_checkpoint_globals([RunNotes])
    assert RunNotes in checkpoint.CHECKPOINT_SAFE_GLOBALS
    notes = load_checkpoint_file(path)['meta']['notes']
    assert isinstance(notes, RunNotes) and (notes.author, notes.epochs) == ('kim', 7)
    assert isinstance(torch.load(path, weights_only=True)['meta']['notes'], RunNotes)
    other = nn.Linear(3, 2)
    load_checkpoint(other, path, map_location='cpu')  # MMEngine's loader: load_from, --resume
    assert torch.equal(other.weight, model.weight)


def test_allowing_a_class_twice_lists_it_once(restore_allow_list):
    allow_checkpoint_globals([RunNotes])
    allow_checkpoint_globals([RunNotes])
    assert checkpoint.CHECKPOINT_SAFE_GLOBALS.count(RunNotes) == 1
