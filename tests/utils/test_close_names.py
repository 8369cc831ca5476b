"""The "did you mean" of the errors that name a misspelt key."""
from dld.utils.close_names import did_you_mean


def test_the_close_names_are_offered_best_first_and_quoted_when_asked():
    known = ['batch_size', 'batch_sampler', 'num_workers']
    assert did_you_mean('batchsize', known) == 'did you mean batch_size or batch_sampler?'
    assert did_you_mean('num_worker', known, n=1, quoted=True) == "did you mean 'num_workers'?"


def test_nothing_close_gives_none():
    assert did_you_mean('zzz', ['batch_size']) is None
