"""Decoders own their dictionary, loss and postprocessing."""
import pytest
import torch

from dld.registry import MODELS


def test_ctc_decoder_adds_a_blank_and_outputs_one_step_per_frame():
    dec = MODELS.build(dict(type='CTCDecoder', in_channels=16))
    assert dec.dictionary.blank_idx == 36 and dec.dictionary.num_classes == 37
    logits, hidden = dec(torch.randn(2, 11, 16))
    assert logits.shape == (2, 11, 37) and hidden is None


@pytest.mark.parametrize('cell', ['transformer', 'gru', 'lstm'])
def test_attention_decoder_steps_are_max_seq_len(cell):
    dec = MODELS.build(dict(type='AttentionDecoder', in_channels=16, cell=cell, d_model=32,
                            num_layers=1, num_heads=2, max_seq_len=8))
    d = dec.dictionary
    assert d.end_idx == 36 and d.padding_idx == 37
    memory = torch.randn(2, 11, 16)
    logits, hidden = dec(memory, [[1, 2, 3], []])
    assert logits.shape == (2, 8, 37) and hidden.shape == (2, 8, 32)
    logits, hidden = dec(memory)  # free-running
    assert logits.shape == (2, 8, 37) and hidden.shape == (2, 8, 32)


@pytest.mark.parametrize('cell', ['transformer', 'gru', 'lstm'])
def test_a_padded_memory_decodes_as_the_memories_alone(cell):
    """Memories of two widths padded to one length (with junk) and masked
    give each sequence the outputs and gradients it gets from its own memory."""
    torch.manual_seed(0)
    dec = MODELS.build(dict(type='AttentionDecoder', in_channels=16, cell=cell, d_model=32,
                            num_layers=2, num_heads=2, max_seq_len=8, dropout=0.0))
    assert dec.reads_padded_memory
    wide, narrow = torch.randn(2, 11, 16), torch.randn(3, 4, 16, requires_grad=True)
    seqs = [[1, 2, 3], [4], [5, 6], [], [7, 8, 9, 10]]
    rows = torch.tensor([0, 1, 0, 1, 2])  # both widths, images read more than once
    padded = torch.cat([wide, torch.cat([narrow, 100 * torch.randn(3, 7, 16)], dim=1)])
    mask = torch.arange(11)[None] < torch.tensor([11, 11, 4, 4, 4])[:, None]
    # padded rows 0-1: the wide images, 2-4: the narrow ones
    nll, logits, hidden = dec.score_sequences(padded, seqs[:2] + seqs,
                                              torch.cat([torch.tensor([0, 1]), rows + 2]),
                                              memory_mask=mask)
    alone_wide = dec.score_sequences(wide, seqs[:2], torch.tensor([0, 1]))
    alone_narrow = dec.score_sequences(narrow, seqs, rows)
    torch.testing.assert_close(nll, torch.cat([alone_wide[0], alone_narrow[0]]))
    torch.testing.assert_close(logits, torch.cat([alone_wide[1], alone_narrow[1]]))
    torch.testing.assert_close(hidden, torch.cat([alone_wide[2], alone_narrow[2]]))
    grad_padded, = torch.autograd.grad(nll[2:].sum(), narrow)
    grad_alone, = torch.autograd.grad(alone_narrow[0].sum(), narrow)
    torch.testing.assert_close(grad_padded, grad_alone)


def test_ctc_refuses_a_padded_memory():
    dec = MODELS.build(dict(type='CTCDecoder', in_channels=16))
    assert not dec.reads_padded_memory
    with pytest.raises(ValueError, match='padded memory'):
        dec.score_sequences(torch.randn(2, 5, 16), [[1], [2]],
                            memory_mask=torch.ones(2, 5, dtype=torch.bool))


def test_dictionary_config_that_drops_a_required_token_is_refused():
    with pytest.raises(ValueError, match='with_blank=True'):
        MODELS.build(dict(type='CTCDecoder', in_channels=4,
                          dictionary=dict(type='Dictionary', with_blank=False)))


def test_unknown_cell_is_refused():
    with pytest.raises(ValueError, match='cell must be one of'):
        MODELS.build(dict(type='AttentionDecoder', in_channels=4, cell='rnn'))


def test_ctc_loss_reductions():
    torch.manual_seed(0)
    dec = MODELS.build(dict(type='CTCDecoder', in_channels=8))
    memory, targets = torch.randn(3, 10, 8), [[1, 2], [3], [4, 4, 5]]
    nll = dec.sequence_nll(memory, targets)
    assert dec.loss(memory, targets)['loss_ctc'].item() == pytest.approx(nll.mean().item(),
                                                                         rel=1e-5)
    dec.module_loss.reduction = 'token_mean'
    expected = (nll / torch.tensor([2.0, 1.0, 3.0])).mean()
    assert dec.loss(memory, targets)['loss_ctc'].item() == pytest.approx(expected.item(),
                                                                         rel=1e-5)


def test_ctc_loss_zeroes_unalignable_targets_but_nll_reports_them():
    dec = MODELS.build(dict(type='CTCDecoder', in_channels=8))
    memory, targets = torch.randn(1, 3, 8), [[1, 1, 1]]  # needs 5 frames
    assert torch.isinf(dec.sequence_nll(memory, targets)).all()
    assert dec.loss(memory, targets)['loss_ctc'].item() == 0.0


def test_ce_loss_trains_on_long_labels_cut_but_scores_them_unemittable():
    torch.manual_seed(0)
    dec = MODELS.build(dict(type='AttentionDecoder', in_channels=8, cell='gru', d_model=16,
                            num_layers=1, max_seq_len=4, dropout=0.0))
    memory = torch.randn(2, 6, 8)
    targets = [[1], [1, 2, 3, 4, 5]]  # training cuts the second to 3 chars + EOS
    cut = dec.sequence_nll(memory, [[1], [1, 2, 3]])
    loss = dec.loss(memory, targets)['loss_ce']
    assert loss.item() == pytest.approx(cut.sum().item() / (2 + 4), rel=1e-5)
    # ... but the decoder cannot emit 5 characters: its likelihood is nil,
    # not that of the cut string (as CTC scores a target too long to align).
    nll = dec.sequence_nll(memory, targets)
    assert nll[0].item() == pytest.approx(cut[0].item()) and torch.isinf(nll[1])
    assert dec.sequence_nll(memory, targets, unalignable_nll=30.0)[1].item() == 30.0
    assert dec.sequence_nll(memory[1:], [[1, 2, 3]]).isfinite().all()  # at the limit


def test_label_smoothing_changes_the_loss_not_the_likelihood():
    torch.manual_seed(0)
    dec = MODELS.build(dict(type='AttentionDecoder', in_channels=8, cell='gru', d_model=16,
                            num_layers=1, dropout=0.0,
                            module_loss=dict(type='CEModuleLoss', label_smoothing=0.1)))
    memory, targets = torch.randn(2, 6, 8), [[1, 2], [3]]
    tokens = 3 + 2
    assert dec.loss(memory, targets)['loss_ce'].item() != pytest.approx(
        dec.sequence_nll(memory, targets).sum().item() / tokens, rel=1e-4)


def test_postprocessors_collapse_and_truncate():
    ctc = MODELS.build(dict(type='CTCDecoder', in_channels=4,
                            dictionary=dict(type='Dictionary', chars='AB')))
    blank = ctc.dictionary.blank_idx
    path = torch.tensor([[0, 0, blank, 0, 1, 1, blank]])
    assert ctc.postprocessor.collapse(path) == [[0, 0, 1]]
    attn = MODELS.build(dict(type='AttentionDecoder', in_channels=4, cell='gru', d_model=8,
                             dictionary=dict(type='Dictionary', chars='AB')))
    end = attn.dictionary.end_idx
    assert attn.postprocessor.truncate(torch.tensor([[1, 0, end, 1], [1, 1, 1, 1]])) == [
        [1, 0], [1, 1, 1, 1]]
    out = attn.postprocessor.format([[[1, 0], []]], torch.tensor([[-0.5, float('-inf')]]))
    assert out[0]['text'] == 'BA' and out[0]['topk'] == [('BA', -0.5)]
    assert out[0]['score'] == pytest.approx(torch.tensor(-0.5).exp().item())


@pytest.mark.parametrize('cell', ['transformer', 'gru'])
def test_free_running_forward_train_reads_only_the_real_steps_of_a_padded_memory(cell):
    torch.manual_seed(0)
    dec = MODELS.build(dict(type='AttentionDecoder', in_channels=8, cell=cell, d_model=16,
                            num_layers=1, num_heads=2, max_seq_len=4, dropout=0.0)).eval()
    narrow = torch.randn(2, 3, 8)
    padded = torch.cat([narrow, 100 * torch.randn(2, 4, 8)], dim=1)
    mask = torch.arange(7)[None].expand(2, -1) < 3
    logits, hidden = dec.forward_train(padded, None, memory_mask=mask)
    alone_logits, alone_hidden = dec.forward_train(narrow, None)
    torch.testing.assert_close(logits, alone_logits)
    torch.testing.assert_close(hidden, alone_hidden)


@pytest.mark.parametrize('cell', ['transformer', 'gru'])
def test_beam_search_on_a_padded_memory_finds_what_the_memory_alone_gives(cell):
    torch.manual_seed(0)
    dec = MODELS.build(dict(type='AttentionDecoder', in_channels=8, cell=cell, d_model=16,
                            num_layers=1, num_heads=2, max_seq_len=4, dropout=0.0,
                            dictionary=dict(type='Dictionary', chars='AB'))).eval()
    wide, narrow = torch.randn(1, 7, 8), torch.randn(1, 3, 8)
    padded = torch.cat([wide, torch.cat([narrow, 100 * torch.randn(1, 4, 8)], dim=1)])
    mask = torch.arange(7)[None] < torch.tensor([[7], [3]])
    seqs, scores = dec.beam_search(padded, beam_width=8, topk=5, memory_mask=mask)
    for row, memory in enumerate([wide, narrow]):
        alone_seqs, alone_scores = dec.beam_search(memory, beam_width=8, topk=5)
        assert seqs[row] == alone_seqs[0]
        torch.testing.assert_close(scores[row], alone_scores[0])


def test_content_mask_keeps_the_steps_that_show_the_image():
    from dld.models.decoders import content_mask, pad_memories
    mask = content_mask([1.0, 0.5, 0.4, 0.001], 10)
    assert mask.sum(1).tolist() == [10, 5, 4, 1]  # at least one step
    assert mask[:, 0].all() and not mask[1, 5:].any()
    assert content_mask([1.0, 1.0], 10) is None
    assert content_mask([float('nan'), 1.5], 10) is None  # unknown or wider: every step
    with pytest.raises(ValueError):  # one mask per memory
        pad_memories([torch.zeros(1, 4, 3), torch.zeros(1, 2, 3)], [None])
    # Each memory's own mask stays within its rows; padding is never a step.
    memory, padded = pad_memories([torch.zeros(2, 6, 3), torch.zeros(1, 4, 3)],
                                  [content_mask([0.5, 1.0], 6), None])
    assert memory.shape == (3, 6, 3)
    assert padded.sum(1).tolist() == [3, 6, 4]


def test_content_steps_of_unknown_and_infinite_ratios():
    """NaN (unknown) and inf read every step, -inf one, as clamped; the
    default infinities of nan_to_num overflowed an exported graph's float32
    constant (an upgrade audit)."""
    from dld.models.decoders.padded_memory import content_steps
    ratios = torch.tensor([float('nan'), float('inf'), float('-inf'), 0.5, 0.01])
    assert content_steps(ratios, 10).tolist() == [10, 10, 1, 5, 1]


def _scripted(dec, plan, d_model=8):
    """``dec`` steps to the argmax ``plan[t]`` at step t (a character index
    or ``'end'``), whatever it reads."""
    steps = iter(range(100))

    def step(prepared, token, state):
        t = next(steps)
        target = dec.end_idx if plan[t] == 'end' else plan[t]
        logit = torch.full((token.size(0), dec.dictionary.num_classes), -5.0)
        # an early end far less likely than the forced last one (a beam keeps '' else)
        logit[:, dec.end_idx] = -5.0 if t == len(plan) - 1 else -20.0
        logit[:, target] = 5.0
        return logit, torch.zeros(token.size(0), d_model), state
    dec._step = step
    return dec


@pytest.mark.parametrize('decode', ['greedy', 'beam'])
@pytest.mark.parametrize('plan, text, truncated', [
    ([0, 1, 0, 0], 'ABA', True),  # it would have read on: cut at max_seq_len
    ([0, 1, 0, 'end'], 'ABA', False),  # as long as it emits, ended by itself
    ([0, 'end', 1, 1], 'A', False),
])
def test_a_reading_cut_at_max_seq_len_is_flagged(decode, plan, text, truncated):
    """A reading the last step (which may only end it) cut short was a plain
    reading of max_seq_len - 1 characters: nothing said the plate was longer."""
    dec = MODELS.build(dict(type='AttentionDecoder', in_channels=4, cell='gru', d_model=8,
                            max_seq_len=4, dictionary=dict(type='Dictionary', chars='AB')))
    memory = torch.randn(2, 5, 4)
    [out, _] = _scripted(dec.eval(), plan).predict(memory, decode, beam_width=2, topk=1)
    assert (out['text'], out['truncated']) == (text, truncated)
    # the searches themselves keep their two values (the distiller's SKD unpacks them)
    assert len(_scripted(dec, plan).greedy_search(memory)) == 2
    assert len(_scripted(dec, plan).beam_search(memory, 2, 1)) == 2


def test_a_ctc_reading_is_never_cut_and_a_decoder_of_ones_own_says_nothing():
    ctc = MODELS.build(dict(type='CTCDecoder', in_channels=4))
    for decode in ('greedy', 'beam'):
        assert {r['truncated'] for r in ctc.predict(torch.randn(2, 9, 4), decode)} == {False}
    attn = MODELS.build(dict(type='AttentionDecoder', in_channels=4, cell='gru', d_model=8,
                             dictionary=dict(type='Dictionary', chars='AB')))
    # format without flags (a decoder that does not override search): unknown
    out = attn.postprocessor.format([[[1, 0]]], torch.tensor([[-0.5]]))
    assert out[0]['truncated'] is None


def test_a_subclass_s_own_search_is_used_and_its_readings_not_flagged():
    from dld.models.decoders import AttentionDecoder

    class Mine(AttentionDecoder):
        def greedy_search(self, encoder_out, memory_mask=None):
            return [[[0]] for _ in range(encoder_out.size(0))], torch.zeros(encoder_out.size(0), 1)

    dec = Mine(in_channels=4, cell='gru', d_model=8, max_seq_len=4,
               dictionary=dict(type='Dictionary', chars='AB'))
    [out] = dec.predict(torch.randn(1, 5, 4))
    assert (out['text'], out['truncated']) == ('A', None)
