"""Does info_nce agree with a brute-force loop, augment keep what it should, linear_probe agree with
scikit-learn, and the lecture's on-page encoder and loss with the library's?"""

import math

import numpy as np
import pytest
import torch
from scipy.special import logsumexp
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from course_lib.contrastive import (
    DigitEncoder,
    EncoderConfig,
    augment,
    few_labels,
    info_nce,
    linear_probe,
    probe_features,
    simclr_loss,
    similarity_logits,
)


def brute_force_info_nce(u, v, temperature):
    """Both directions of InfoNCE by loops over rows in numpy float64 (the oracle)."""
    u = np.asarray(u, dtype=np.float64)
    v = np.asarray(v, dtype=np.float64)
    u = u / np.sqrt((u ** 2).sum(1, keepdims=True))
    v = v / np.sqrt((v ** 2).sum(1, keepdims=True))
    n = len(u)
    uv = [-(u[i] @ v[i] / temperature - logsumexp([u[i] @ v[j] / temperature for j in range(n)]))
          for i in range(n)]
    vu = [-(v[j] @ u[j] / temperature - logsumexp([v[j] @ u[i] / temperature for i in range(n)]))
          for j in range(n)]
    return 0.5 * (np.mean(uv) + np.mean(vu))


@pytest.mark.parametrize("n, d, temperature", [(7, 3, 0.1), (5, 12, 1.0), (1, 4, 0.5), (16, 16, 0.05)])
def test_info_nce_matches_brute_force(n, d, temperature):
    g = torch.Generator().manual_seed(n * d)
    u = torch.randn(n, d, generator=g, dtype=torch.float64) * 3
    v = torch.randn(n, d, generator=g, dtype=torch.float64)
    assert info_nce(u, v, temperature).shape == ()
    np.testing.assert_allclose(info_nce(u, v, temperature).item(), brute_force_info_nce(u, v, temperature),
                               rtol=1e-12)


def test_info_nce_is_symmetric_scale_free_and_log_n_at_chance():
    g = torch.Generator().manual_seed(0)
    u, v = torch.randn(9, 4, generator=g), torch.randn(9, 4, generator=g)
    torch.testing.assert_close(info_nce(u, v, 0.3), info_nce(v, u, 0.3))
    torch.testing.assert_close(info_nce(5 * u, 0.1 * v, 0.3), info_nce(u, v, 0.3))
    # All embeddings equal: every candidate is as likely as the positive, the loss is log N.
    same = torch.ones(9, 4, dtype=torch.float64)
    assert math.isclose(info_nce(same, same, 0.2).item(), math.log(9), rel_tol=1e-12)
    # Perfectly matched, orthogonal pairs at a low temperature: the loss goes to 0.
    eye = torch.eye(6, dtype=torch.float64)
    assert info_nce(eye, eye, 0.01).item() < 1e-30


def test_info_nce_bounds_mutual_information_by_log_n():
    """log N - L_uv <= log N always; the gap closes as the positives separate."""
    g = torch.Generator().manual_seed(1)
    u = torch.randn(32, 8, generator=g, dtype=torch.float64)
    noisy = u + 0.1 * torch.randn(32, 8, generator=g, dtype=torch.float64)
    losses = [info_nce(u, noisy, t).item() for t in (1.0, 0.3, 0.1)]
    assert all(0 < loss < math.log(32) for loss in losses)
    assert losses[0] > losses[1] > losses[2]


def test_similarity_logits_are_cosines_over_temperature():
    g = torch.Generator().manual_seed(2)
    u, v = torch.randn(3, 5, generator=g, dtype=torch.float64), torch.randn(4, 5, generator=g, dtype=torch.float64)
    expected = torch.nn.functional.cosine_similarity(u[:, None], v[None], dim=-1) / 0.25
    torch.testing.assert_close(similarity_logits(u, v, 0.25), expected)


def test_info_nce_rejects_bad_input():
    u = torch.randn(4, 3)
    with pytest.raises(ValueError, match="temperature"):
        info_nce(u, u, 0.0)
    with pytest.raises(ValueError, match="u and v"):
        info_nce(u, torch.randn(5, 3), 0.1)
    with pytest.raises(TypeError, match="u must be"):
        info_nce(u.numpy(), u, 0.1)
    with pytest.raises(TypeError, match="temperature"):
        info_nce(u, u, "hot")


def digits01(n=20):
    from course_lib.data import digits
    return digits("train")[0][:n].double() / 16


def test_augment_keeps_shape_dtype_and_follows_the_generator():
    x = digits01()
    a = augment(x, torch.Generator().manual_seed(3))
    assert a.shape == x.shape and a.dtype == x.dtype
    torch.testing.assert_close(a, augment(x, torch.Generator().manual_seed(3)))
    assert not torch.equal(a, augment(x, torch.Generator().manual_seed(4)))
    square = x.reshape(-1, 8, 8).float()
    assert augment(square, torch.Generator().manual_seed(3)).shape == square.shape


def test_augment_with_everything_off_is_the_identity():
    x = digits01()
    out = augment(x, torch.Generator().manual_seed(0), shift=0, rotation=0, noise=0, cutout=0)
    torch.testing.assert_close(out, x)


def test_augment_shifts_move_the_centre_of_ink_by_at_most_the_shift():
    """Shifts up to one pixel move each digit's centre of mass by at most sqrt(2) pixels; rotations
    keep the total ink (bilinear resampling; digits stay inside the frame)."""
    x = digits01(50)
    pos = torch.arange(8, dtype=x.dtype)

    def centre(images):
        ink = images.reshape(-1, 8, 8).clamp(min=0)
        total = ink.sum((1, 2))
        return torch.stack([(ink.sum(2) * pos).sum(1) / total, (ink.sum(1) * pos).sum(1) / total], 1)

    shifted = augment(x, torch.Generator().manual_seed(0), shift=1, rotation=0, noise=0, cutout=0)
    moved = (centre(shifted) - centre(x)).norm(dim=1)
    assert moved.max() <= 2 ** 0.5 + 0.2 and moved.mean() > 0.3
    rotated = augment(x, torch.Generator().manual_seed(1), shift=0, rotation=10, noise=0, cutout=0)
    assert torch.allclose(rotated.sum(1), x.sum(1), rtol=0.15)


def test_augment_noise_and_cutout_statistics():
    x = torch.full((400, 64), 0.5, dtype=torch.float64)
    noisy = augment(x, torch.Generator().manual_seed(5), shift=0, rotation=0, noise=0.2, cutout=0)
    assert abs((noisy - x).std().item() - 0.2) < 0.01
    holes = augment(x, torch.Generator().manual_seed(6), shift=0, rotation=0, noise=0, cutout=3, cutout_prob=1.0)
    zeros = (holes == 0).sum(1)
    # Interpolation at the border of a constant image without shifts leaves it intact: exactly 9 holes.
    assert bool((zeros == 9).all())
    half = augment(x, torch.Generator().manual_seed(7), shift=0, rotation=0, noise=0, cutout=2, cutout_prob=0.5)
    fraction = ((half == 0).sum(1) > 0).double().mean().item()
    assert 0.4 < fraction < 0.6


def test_augment_rejects_bad_input():
    with pytest.raises(ValueError, match="x must have shape"):
        augment(torch.zeros(3, 10))
    with pytest.raises(TypeError, match="x must be a floating"):
        augment(torch.zeros(3, 64, dtype=torch.long))
    with pytest.raises(ValueError, match="noise"):
        augment(torch.zeros(3, 64), noise=-1.0)
    with pytest.raises(TypeError, match="generator"):
        augment(torch.zeros(3, 64), generator=3)


@pytest.mark.parametrize("c", [0.05, 1.0])
def test_linear_probe_matches_scikit_learn(c):
    g = torch.Generator().manual_seed(8)
    centres = 2 * torch.randn(4, 6, generator=g, dtype=torch.float64)
    y_train = torch.arange(60) % 4
    y_test = torch.arange(37) % 4
    f_train = centres[y_train] + 1.5 * torch.randn(60, 6, generator=g, dtype=torch.float64) + 10
    f_test = centres[y_test] + 1.5 * torch.randn(37, 6, generator=g, dtype=torch.float64) + 10
    scaler = StandardScaler().fit(f_train.numpy())
    ref = LogisticRegression(C=c, tol=1e-10, max_iter=10000).fit(scaler.transform(f_train.numpy()), y_train.numpy())
    expected = ref.score(scaler.transform(f_test.numpy()), y_test.numpy())
    assert linear_probe(f_train, y_train, f_test, y_test, c=c) == pytest.approx(expected, abs=1e-12)
    assert 0.3 < expected < 1.0  # a problem where the answer is not trivial


def test_linear_probe_matches_scikit_learn_on_digits_with_few_labels():
    from course_lib.data import digits
    x, y = digits("train")
    x_test, y_test = digits("test")
    rows = torch.cat([torch.nonzero(y == k)[:3, 0] for k in range(10)])  # 3 labels per class
    # Constant pixels (always 0 in the 30 digits) are left centred, as StandardScaler does.
    scaler = StandardScaler().fit(x[rows].numpy())
    ref = LogisticRegression(C=1.0, tol=1e-10, max_iter=10000).fit(scaler.transform(x[rows].numpy()), y[rows].numpy())
    expected = ref.score(scaler.transform(x_test.numpy()), y_test.numpy())
    assert linear_probe(x[rows].float(), y[rows], x_test.float(), y_test) == pytest.approx(expected, abs=3 / 447)


def test_linear_probe_labels_it_never_saw_count_as_wrong():
    f = torch.tensor([[0.0], [1.0], [0.0], [1.0]])
    y = torch.tensor([3, 7, 3, 7])
    assert linear_probe(f, y, f, y) == 1.0
    assert linear_probe(f, y, f, torch.tensor([3, 7, 5, 5])) == 0.5
    assert linear_probe(f[:1], y[:1], f, y) == 0.5


def test_linear_probe_rejects_bad_input():
    f = torch.randn(4, 2)
    with pytest.raises(TypeError, match="train_labels"):
        linear_probe(f, torch.zeros(4), f, torch.zeros(4, dtype=torch.long))
    with pytest.raises(ValueError, match="test_features"):
        linear_probe(f, torch.zeros(4, dtype=torch.long), f, torch.zeros(3, dtype=torch.long))
    with pytest.raises(ValueError, match="c must be"):
        linear_probe(f, torch.zeros(4, dtype=torch.long), f, torch.zeros(4, dtype=torch.long), c=0)


def test_few_labels_draws_per_class_without_replacement():
    labels = torch.tensor([0, 1, 2, 1, 0, 2, 2, 1, 0, 0, 5])
    rows = few_labels(labels, 2, torch.Generator().manual_seed(0))
    assert rows.tolist() == sorted(rows.tolist(), key=lambda i: labels[i].item())  # grouped by class
    assert torch.bincount(labels[rows]).tolist() == [2, 2, 2, 0, 0, 1]           # class 5 has one
    assert len(set(rows.tolist())) == len(rows)
    torch.testing.assert_close(rows, few_labels(labels, 2, torch.Generator().manual_seed(0)))
    draws = {tuple(few_labels(labels, 1, torch.Generator().manual_seed(s)).tolist()) for s in range(20)}
    assert len(draws) > 5
    with pytest.raises(ValueError, match="per_class"):
        few_labels(labels, 0)


def test_encoder_shapes_and_float64():
    model = DigitEncoder(EncoderConfig(channels=(4, 8), features=10, embedding=3)).double()
    x = digits01(6)
    assert model.features(x).shape == (6, 10)
    assert model(x).shape == (6, 3) and model(x).dtype == torch.float64
    assert probe_features(model, x).shape == (6, 10)
    assert model.training


# ----------------------------------------------------------------------------------------------
# The lecture's on-page encoder and loss (lectures/09_contrastive.ipynb, section 3), repeated here.

def on_page_info_nce(u, v, temperature):
    u = u / u.norm(dim=1, keepdim=True)
    v = v / v.norm(dim=1, keepdim=True)
    logits = u @ v.T / temperature                 # (N, N): row i, column j = sim(u_i, v_j)
    log_p_uv = logits.log_softmax(dim=1)           # each u_i picks among all v_j
    log_p_vu = logits.log_softmax(dim=0)           # each v_j picks among all u_i
    return -(log_p_uv.diagonal().mean() + log_p_vu.diagonal().mean()) / 2


class OnPageEncoder(torch.nn.Module):
    def __init__(self, c1=32, c2=64, features=128, embedding=32):
        super().__init__()
        self.body = torch.nn.Sequential(
            torch.nn.Conv2d(1, c1, 3, padding=1), torch.nn.ReLU(),
            torch.nn.Conv2d(c1, c2, 3, stride=2, padding=1), torch.nn.ReLU(),
            torch.nn.Flatten(), torch.nn.Linear(c2 * 16, features))
        self.head = torch.nn.Sequential(torch.nn.Linear(features, features), torch.nn.ReLU(),
                                        torch.nn.Linear(features, embedding))

    def features(self, x):
        return self.body(x.reshape(-1, 1, 8, 8))

    def forward(self, x):
        return self.head(torch.relu(self.features(x)))


def test_on_page_loss_and_encoder_agree_with_the_library():
    g = torch.Generator().manual_seed(9)
    u, v = torch.randn(11, 5, generator=g, dtype=torch.float64), torch.randn(11, 5, generator=g, dtype=torch.float64)
    torch.testing.assert_close(on_page_info_nce(u, v, 0.2), info_nce(u, v, 0.2))
    torch.manual_seed(0)
    page = OnPageEncoder().double()
    library = DigitEncoder().double()
    library.load_state_dict(page.state_dict())   # same parameter names and shapes
    x = digits01(7)
    torch.testing.assert_close(page(x), library(x))
    torch.testing.assert_close(page.features(x), library.features(x))


def test_simclr_loss_is_info_nce_of_two_views():
    torch.manual_seed(0)
    model = DigitEncoder(EncoderConfig(channels=(4, 8), features=10, embedding=3)).double()
    x = digits01(8)
    loss = simclr_loss(model, x, 0.5, torch.Generator().manual_seed(1))
    g = torch.Generator().manual_seed(1)
    u, v = model(augment(x, g)), model(augment(x, g))
    torch.testing.assert_close(loss, info_nce(u, v, 0.5))
    loss.backward()
    assert all(p.grad is not None for p in model.parameters())


@pytest.mark.slow
def test_a_short_simclr_run_beats_raw_pixels_at_ten_labels_per_class():
    from course_lib.data import digits
    from course_lib.train import FitConfig, fit

    torch.set_num_threads(1)
    x, y = digits("train")
    x_test, y_test = digits("test")
    x, x_test = x.float() / 16, x_test.float() / 16
    torch.manual_seed(0)
    model = DigitEncoder()
    g = torch.Generator().manual_seed(0)
    fit(model, lambda m, b: simclr_loss(m, b, 0.1, g), x, None,
        FitConfig(epochs=30, batch_size=128, lr=3e-3, progress=False))
    rows = torch.cat([torch.nonzero(y == k)[:10, 0] for k in range(10)])
    h, h_test = probe_features(model, x), probe_features(model, x_test)
    assert linear_probe(h[rows], y[rows], h_test, y_test) > linear_probe(x[rows], y[rows], x_test, y_test)


def test_similarity_explorer_follows_its_slider_and_redraws_fast():
    from course_lib.explorers.similarity import quick_embeddings, quick_similarity_explorer

    explorer = quick_similarity_explorer()
    u, v = quick_embeddings()
    times = []
    for t in (0.04, 0.3, 1.5, 0.1, 0.7):
        explorer.sliders["T"].value = t
        times.append(explorer.redraw_seconds)
        assert explorer.values["InfoNCE"] == pytest.approx(brute_force_info_nce(u, v, t), rel=1e-9)
        assert explorer.values["log N"] == pytest.approx(math.log(16))
        assert 0 < explorer.values["p(positive)"] < 1
    assert sorted(times)[2] < 0.5  # generous on a shared CPU; benchmarks/RESULTS.md tracks <= 0.1 s
