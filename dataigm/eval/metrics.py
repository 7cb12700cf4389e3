"""The metrics of an evaluation, each with the library, version and weights it used.

Paired (method vs original image of the same row): SSIM (torchmetrics' definition, computed with
separable OpenCV filters; checked against torchmetrics) and PSNR (weight-free); LPIPS (torchmetrics'
AlexNet LPIPS: linear layers from its wheel, backbone from a local torchvision AlexNet file;
inputs in [-1, 1]).
Distribution: FID and KID on Inception-v3 pool features (torch-fidelity's extractor; resize: "clean"
= PIL bicubic to 299 as clean-fid and pyiqa do, whose numbers IGMU reports, or "tf1" = the
TensorFlow-1 bilinear resize torch-fidelity applies itself); CMMD on L2-normalised CLIP embeddings
with an RBF kernel (sigma 10, x1000). All distances in float64.
Alignment: CLIP score = 100 * cos(image, text), per image and unclamped.
"""

from __future__ import annotations

import re
from importlib.metadata import version
from pathlib import Path

import numpy as np

from dataigm.core.errors import DataIGMError
from dataigm.eval.checkpoints import load_state_dict

PSNR_CAP = 100.0  # dB, for identical images (PSNR is infinite there)
FID_RESIZES = ("clean", "tf1")
CMMD_SIGMA = 10.0
CMMD_SCALE = 1000.0
TORCH_HUB = Path.home() / ".cache" / "torch" / "hub" / "checkpoints"
ALEXNET_FILE = "alexnet-owt-7be5be79.pth"
INCEPTION_FILE = "weights-inception-2015-12-05-6726825d.pth"


def _tensor(images: list[np.ndarray]):
    import torch

    return torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).float() / 255.0


def _by_shape(images: list[np.ndarray]) -> list[list[int]]:
    """Indices of the images grouped by shape (a batch tensor needs one size)."""
    groups: dict[tuple[int, ...], list[int]] = {}
    for k, image in enumerate(images):
        groups.setdefault(image.shape, []).append(k)
    return list(groups.values())


def ssim(a: np.ndarray, b: np.ndarray, size: int = 11, sigma: float = 1.5) -> float:
    """SSIM of two uint8 RGB images with torchmetrics' definition (Gaussian window 11, sigma 1.5,
    K = 0.01/0.03, data range 1, reflection-padded borders, variances clamped at 0, mean over
    pixels and channels), the Gaussian applied as two 1-D passes with OpenCV: ~6x faster than
    torchmetrics' 11x11 kernel and equal to it within 1e-6 (see the tests)."""
    import cv2

    coords = np.arange(size) - (size - 1) / 2
    g = np.exp(-(coords**2) / (2 * sigma**2))
    g = (g / g.sum()).astype(np.float32)
    x, y = a.astype(np.float32) / 255.0, b.astype(np.float32) / 255.0

    def blur(img: np.ndarray) -> np.ndarray:
        return cv2.sepFilter2D(img, -1, g, g, borderType=cv2.BORDER_REFLECT_101)

    mu_x, mu_y = blur(x), blur(y)
    var_x = np.maximum(blur(x * x) - mu_x * mu_x, 0)
    var_y = np.maximum(blur(y * y) - mu_y * mu_y, 0)
    cov = blur(x * y) - mu_x * mu_y
    c1, c2 = 0.01**2, 0.03**2
    value = ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / ((mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2))
    return float(value.mean(dtype=np.float64))


def paired_ssim_psnr(method: list[np.ndarray], original: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Per-pair SSIM and PSNR (dB over the 0-255 range, capped) of uint8 RGB images."""
    ssims = np.array([ssim(a, b) for a, b in zip(method, original, strict=True)], np.float64)
    mse = np.array([np.mean((a.astype(np.float64) - b) ** 2) for a, b in zip(method, original, strict=True)])
    with np.errstate(divide="ignore"):
        psnr = np.where(mse > 0, 10 * np.log10(255.0**2 / np.maximum(mse, 1e-30)), PSNR_CAP)
    return ssims, np.minimum(psnr, PSNR_CAP)


def weights_file(given: str | None, default_name: str, flag: str) -> Path:
    """A local weights file: the one given, else torch hub's cache; missing -> MetricSkipped."""
    path = Path(given) if given else TORCH_HUB / default_name
    if not path.is_file():
        where = f"no file {path}" if given else f"{default_name} not in {TORCH_HUB}"
        raise MetricSkipped(f"weights not on disk ({where}); pass {flag} PATH")
    return path


class MetricSkipped(Exception):
    """A metric that cannot be computed here; the message says why and which flag fixes it."""


def file_sha256(path: Path) -> str:
    """sha256 of a weights file (recorded beside the metric it computed)."""
    import hashlib

    from dataigm.core.fingerprint import hash_file

    return hash_file(hashlib.sha256(), path).hexdigest()


class Lpips:
    """torchmetrics' LPIPS (AlexNet): its own linear layers, the AlexNet backbone from `weights`."""

    def __init__(self, weights: Path):
        import torch
        import torchvision
        from torchmetrics.functional.image.lpips import _LPIPS

        alexnet = torchvision.models.alexnet(weights=None)
        try:
            alexnet.load_state_dict(load_state_dict(weights))
        except RuntimeError as exc:
            first = str(exc).splitlines()[0]
            raise DataIGMError(f"--lpips {weights}: not torchvision AlexNet weights ({first})") from None
        self.net = _LPIPS(pretrained=True, net="alex", pnet_rand=True).eval()
        with torch.no_grad():
            for slice_ in (self.net.net.slice1, self.net.net.slice2, self.net.net.slice3, self.net.net.slice4,
                           self.net.net.slice5):
                for name, module in slice_.named_children():
                    module.load_state_dict(alexnet.features[int(name)].state_dict())
        self.info = {"library": f"torchmetrics {version('torchmetrics')}", "weights": str(weights),
                     "sha256": file_sha256(weights)}

    def __call__(self, method: list[np.ndarray], original: list[np.ndarray], batch: int = 16) -> np.ndarray:
        import torch

        out = np.zeros(len(method))
        for group in _by_shape(method):
            with torch.no_grad():
                for i in range(0, len(group), batch):
                    ks = group[i : i + batch]
                    a = _tensor([method[k] for k in ks]) * 2 - 1  # LPIPS expects [-1, 1]
                    b = _tensor([original[k] for k in ks]) * 2 - 1
                    out[ks] = self.net(a, b).reshape(-1).double().numpy()
        return out


class InceptionFeatures:
    """2048-d Inception-v3 pool features with torch-fidelity's extractor. The weights file is read
    with weights_only=True and handed to torch-fidelity re-saved, because its own loader unpickles."""

    def __init__(self, weights: Path, resize: str = "clean"):
        import tempfile

        import torch
        from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

        if resize not in FID_RESIZES:
            raise DataIGMError(f"--fid-resize {resize!r}: use one of {', '.join(FID_RESIZES)}")
        state = load_state_dict(weights)
        with tempfile.TemporaryDirectory() as tmp:
            clean = Path(tmp) / "inception.pt"
            torch.save(state, clean)  # tensors only: safe for torch-fidelity's full load
            try:
                self.net = FeatureExtractorInceptionV3("inception-v3-compat", ["2048"],
                                                       feature_extractor_weights_path=str(clean))
            except RuntimeError as exc:
                raise DataIGMError(f"--inception {weights}: not torch-fidelity Inception weights "
                                   f"({str(exc).splitlines()[0]})") from None
        self.resize = resize
        self.info = {"library": f"torch-fidelity {version('torch-fidelity')}", "weights": str(weights),
                     "sha256": file_sha256(weights), "resize": resize}

    def __call__(self, images: list[np.ndarray], batch: int = 32) -> np.ndarray:
        import torch
        from PIL import Image

        if self.resize == "clean":
            images = [np.asarray(Image.fromarray(im).resize((299, 299), Image.BICUBIC)) for im in images]
        out = np.zeros((len(images), 2048))
        for group in _by_shape(images):
            for i in range(0, len(group), batch):
                ks = group[i : i + batch]
                x = torch.from_numpy(np.stack([images[k] for k in ks])).permute(0, 3, 1, 2).contiguous()
                with torch.no_grad():
                    out[ks] = self.net(x)[0].double().numpy()
        return out


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """FID between feature sets, float64. The trace term tr((S_a S_b)^1/2) is computed exactly as the
    nuclear norm of A^T B (A, B: centred features scaled by 1/sqrt(n-1)), cheap when n < dim."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if len(a) < 2 or len(b) < 2:
        raise MetricSkipped("needs at least 2 images per side")
    mu = a.mean(0) - b.mean(0)
    ca = (a - a.mean(0)) / np.sqrt(len(a) - 1)
    cb = (b - b.mean(0)) / np.sqrt(len(b) - 1)
    if min(len(a), len(b)) <= a.shape[1]:
        trace_sqrt = np.linalg.svd(ca @ cb.T, compute_uv=False).sum()
    else:
        eig = np.linalg.eigvals((ca.T @ ca) @ (cb.T @ cb))
        trace_sqrt = np.sqrt(eig.astype(complex)).real.sum()
    return float(mu @ mu + (ca * ca).sum() + (cb * cb).sum() - 2 * trace_sqrt)


def kernel_inception_distance(a: np.ndarray, b: np.ndarray, subsets: int = 100, subset_size: int | None = None,
                              seed: int = 0) -> tuple[float, float]:
    """KID (torchmetrics' polynomial-kernel MMD, degree 3): mean and std over random subsets. The
    subset size is capped at the smaller set (torchmetrics' default of 1000 fails on fewer images)."""
    import torch
    from torchmetrics.image.kid import poly_mmd

    n = min(len(a), len(b))
    if n < 2:
        raise MetricSkipped("needs at least 2 images per side")
    size = min(subset_size or 1000, n)
    rng = np.random.default_rng(seed)
    ta, tb = torch.from_numpy(np.asarray(a, np.float64)), torch.from_numpy(np.asarray(b, np.float64))
    values = [float(poly_mmd(ta[rng.choice(len(a), size, replace=False)], tb[rng.choice(len(b), size, replace=False)]))
              for _ in range(subsets)]
    return float(np.mean(values)), float(np.std(values))


def cmmd(a: np.ndarray, b: np.ndarray, sigma: float = CMMD_SIGMA, scale: float = CMMD_SCALE) -> float:
    """CMMD: MMD^2 with an RBF kernel exp(-|x-y|^2 / (2 sigma^2)) between embedding sets, times
    `scale` (Jayasumana et al.: L2-normalised CLIP ViT-L/14-336 embeddings, sigma 10, x1000). The
    reference code's estimator: plain means of the three kernel matrices, diagonals included, so a
    set against itself is exactly 0 (the unbiased estimator would go negative there)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if len(a) < 2 or len(b) < 2:
        raise MetricSkipped("needs at least 2 images per side")
    gamma = 1.0 / (2 * sigma**2)

    def k(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        d = (x * x).sum(1)[:, None] + (y * y).sum(1)[None, :] - 2 * x @ y.T
        return np.exp(-gamma * np.maximum(d, 0))

    return float(scale * (k(a, a).mean() + k(b, b).mean() - 2 * k(a, b).mean()))


def l2_normalise(x: np.ndarray) -> np.ndarray:
    """Each row divided by its L2 norm."""
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def clip_scores(image_embeddings: np.ndarray, text_embeddings: np.ndarray) -> np.ndarray:
    """Per-image CLIP score: 100 * cos(image, its text), unclamped (torchmetrics clamps at 0 and
    averages over the batch; IGMU's CSDR needs each image's own score)."""
    return 100.0 * (l2_normalise(image_embeddings) * l2_normalise(text_embeddings)).sum(1)


def without_concept_words(prompt: str, trigger_re: re.Pattern[str]) -> str:
    """The prompt with every concept word removed once, spaces and articles tidied."""
    text = trigger_re.sub("", prompt)
    text = re.sub(r"\b(a|an)\s+(?=[,.]|$)", "", text)
    text = re.sub(r"\s+([,.;:])", r"\1", re.sub(r"\s+", " ", text))
    text = re.sub(r"\ban(?= [^aeiouAEIOU\W])", "a", text)
    text = re.sub(r"\ba(?= [aeiouAEIOU])", "an", text)
    return text.strip(" ,;:")


# What IGMU's benchmark.py removes from a forget prompt for CSDR, in its order: one copy of the
# prompt per item, with only that item removed, the copies joined with no separator.
IGMU_CSDR_REMOVALS = ("naked", "nude", " with Van Gogh style", "Church", "church", "Parachute", "parachute")


def legacy_igmu_csdr_text(prompt: str) -> str:
    """IGMU's exact CSDR text (--csdr-legacy, for comparison with its numbers): seven copies of the
    prompt, each with one item of its fixed list removed, joined with ''."""
    return "".join(prompt.replace(item, "") for item in IGMU_CSDR_REMOVALS)


def csdr(cs_original: np.ndarray, cs_method: np.ndarray) -> np.ndarray:
    """CSDR = |CS_org - CS_method| / CS_org * 100 (IGMU), elementwise."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.abs(cs_original - cs_method) / cs_original * 100.0


def prompt_clip_score(scores: np.ndarray) -> float:
    """A prompt's CLIP score as IGMU computes it: torchmetrics' clip_score over the prompt's
    samples in one batch, i.e. the mean of the per-image scores, clamped at 0."""
    return max(float(np.mean(scores)), 0.0)
