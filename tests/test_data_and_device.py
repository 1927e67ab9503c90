"""course_lib.data, course_lib.device and course_lib.train."""

import gzip
import struct

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

from course_lib import data
from course_lib.device import ENV_VAR, available_devices, default_device
from course_lib.train import FitConfig, fit


def test_digits_split_follows_sklearn_order_1000_350_447():
    bunch = load_digits()
    parts = {s: data.digits(s) for s in ("train", "val", "test")}
    assert [len(parts[s][0]) for s in ("train", "val", "test")] == [1000, 350, 447]
    stacked = torch.cat([parts[s][0] for s in ("train", "val", "test")])
    np.testing.assert_array_equal(stacked.numpy(), bunch.data.astype(np.int64))
    np.testing.assert_array_equal(parts["test"][1].numpy(), bunch.target[1350:])
    x, _ = parts["train"]
    assert x.dtype == torch.int64 and x.shape[1] == 64 and x.min() == 0 and x.max() == 16


def test_digits_rejects_unknown_split():
    with pytest.raises(ValueError, match="split"):
        data.digits("validation")


def test_toy_sets_are_seeded_and_shaped():
    a, b = data.ring_of_gaussians(500, seed=1), data.ring_of_gaussians(500, seed=1)
    assert a.shape == (500, 2) and torch.equal(a, b)
    assert not torch.equal(a, data.ring_of_gaussians(500, seed=2))
    radii = a.norm(dim=1)
    assert abs(radii.mean().item() - 2.0) < 0.1
    moons = data.two_moons(300, seed=0)
    assert moons.shape == (300, 2) and torch.equal(moons, data.two_moons(300, seed=0))


@pytest.mark.parametrize("call, error, words", [
    (lambda: data.ring_of_gaussians(0), ValueError, ["n", "0"]),
    (lambda: data.ring_of_gaussians(10, std=-1.0), ValueError, ["std", "-1.0"]),
    (lambda: data.ring_of_gaussians(10, seed=1.5), TypeError, ["seed", "float"]),
    (lambda: data.two_moons(10.5), TypeError, ["n", "float"]),
    (lambda: data.manifold16(10, noise=-0.1), ValueError, ["noise", "-0.1"]),
    (lambda: fit(torch.nn.Linear(1, 1), None, torch.zeros(4, 1)), TypeError, ["loss_fn", "NoneType"]),
    (lambda: fit(torch.nn.Linear(1, 1), lambda m, b: m(b).sum(), torch.zeros(4, 1), config=FitConfig(epochs=0)),
     ValueError, ["config.epochs", "0"]),
], ids=["n", "std", "seed", "n-type", "noise", "loss_fn", "epochs"])
def test_bad_arguments_are_refused_by_type_or_value_naming_them(call, error, words):
    with pytest.raises(error) as info:
        call()
    assert type(info.value) is error and all(word in str(info.value) for word in words), str(info.value)


def test_manifold16_is_explained_by_one_number():
    x, z = data.manifold16(400, noise=0.0, seed=0)
    assert x.shape == (400, 16) and z.shape == (400,)
    # Noise-free images are a deterministic function of z: equal z, equal image.
    x2, _ = data.manifold16(400, noise=0.0, seed=0)
    assert torch.equal(x, x2)
    # Two principal components capture everything (a closed curve in a 2-D plane of pixel space).
    centred = x - x.mean(0)
    s = torch.linalg.svdvals(centred)
    assert (s[2:] / s[0]).max() < 1e-5


def write_idx(path, array):
    array = np.asarray(array, dtype=np.uint8)
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "wb") as f:
        f.write(header + array.tobytes())


def test_mnist_reads_a_tiny_idx_fixture_raw_and_gzipped(tmp_path):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(5, 28, 28))
    labels = rng.integers(0, 10, size=5)
    write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", images)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", labels)
    x, y = data.mnist(tmp_path, split="test")
    assert x.shape == (5, 28, 28) and x.dtype == torch.uint8
    np.testing.assert_array_equal(x.numpy(), images)
    np.testing.assert_array_equal(y.numpy(), labels)
    (tmp_path / "raw").mkdir()
    write_idx(tmp_path / "raw" / "train-images-idx3-ubyte", images[:2])
    write_idx(tmp_path / "raw" / "train-labels-idx1-ubyte", labels[:2])
    assert data.mnist(tmp_path, split="train")[0].shape == (2, 28, 28)


def test_mnist_never_downloads_and_says_where_to_put_the_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="never downloads"):
        data.mnist(tmp_path, split="train")


def test_mnist_rejects_a_corrupt_file(tmp_path):
    (tmp_path / "t10k-images-idx3-ubyte").write_bytes(b"\x01\x02\x03\x04")
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", [1, 2])
    with pytest.raises(ValueError, match="magic"):
        data.mnist(tmp_path, split="test")


def test_default_device_honours_the_environment(monkeypatch):
    monkeypatch.setenv(ENV_VAR, "cpu")
    assert default_device() == torch.device("cpu")
    monkeypatch.setenv(ENV_VAR, "not-a-device")
    with pytest.raises(ValueError, match=ENV_VAR):
        default_device()
    monkeypatch.delenv(ENV_VAR)
    expected = "cuda" if torch.cuda.is_available() else ("mps" if available_devices()[-1].type == "mps" else "cpu")
    assert default_device().type == expected


def test_fit_reduces_the_loss_restores_the_best_weights_and_stops_early():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(256, 3, generator=g)
    y = x @ torch.tensor([1.0, -2.0, 0.5]) + 0.1 * torch.randn(256, generator=g)
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 1)
    loss_fn = lambda m, batch: ((m(batch[0]).squeeze(-1) - batch[1]) ** 2).mean()
    history = fit(model, loss_fn, (x[:200], y[:200]), (x[200:], y[200:]),
                  FitConfig(epochs=200, lr=0.05, batch_size=32, patience=5, progress=False))
    assert history["train"][-1] < 0.1 * history["train"][0]
    assert history["epochs"] < 200  # stopped early
    best = min(history["val"])
    assert history["val"][history["best_epoch"]] == best
    with torch.no_grad():
        final = ((model(x[200:]).squeeze(-1) - y[200:]) ** 2).mean().item()
    assert final == pytest.approx(best, rel=1e-5)
