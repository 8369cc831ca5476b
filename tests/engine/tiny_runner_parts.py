"""A model and a dataset small enough to run MMEngine's Runner in a test."""
import torch
import torch.nn as nn
from mmengine.model import BaseModel
from torch.utils.data import Dataset


class TinyModel(BaseModel):
    """One linear layer; its loss is the mean squared output."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(2, 1)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        y = self.fc(torch.stack(inputs) if isinstance(inputs, list) else inputs)
        if mode == 'loss':
            return dict(loss=(y ** 2).mean())
        return y


class TinyData(Dataset):
    """Eight items ``(i, i)``; the data sample is the index."""

    metainfo = dict(name='tiny')

    def __len__(self):
        return 8

    def __getitem__(self, i):
        return dict(inputs=torch.full((2, ), float(i)), data_samples=i)
