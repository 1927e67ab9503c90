from . import Alternative

BODY = """    mean = x.mean(0)
    xc = x - mean
    _, s, vh = torch.linalg.svd(xc, full_matrices=False)
    components = vh[:k]
    explained_variance = s[:k] ** 2 / (x.shape[0] - 1)"""

ALTERNATIVES = [
    Alternative("eigendecomposition of the covariance", "pca", BODY,
                "    mean = x.mean(0)\n"
                "    cov = (x - mean).T @ (x - mean) / (x.shape[0] - 1)\n"
                "    values, vectors = torch.linalg.eigh(cov)\n"
                "    order = torch.argsort(values, descending=True)[:k]\n"
                "    components = vectors[:, order].T.contiguous()\n"
                "    explained_variance = values[order].clamp_min(0)",
                "pca.pca", "test_pca"),
    Alternative("numpy's SVD, torch.tensor on the input (warns)", "pca", BODY,
                "    import numpy as np\n"
                "    a = torch.tensor(x).numpy()\n"
                "    mean_np = a.mean(0)\n"
                "    _, s, vh = np.linalg.svd(a - mean_np, full_matrices=False)\n"
                "    mean = torch.from_numpy(mean_np)\n"
                "    components = torch.from_numpy(vh[:k].copy())\n"
                "    explained_variance = torch.from_numpy(s[:k] ** 2 / (a.shape[0] - 1))",
                "pca.pca", "test_pca", warns=True),
    Alternative("einsum", "pca_reconstruct", "    return mean + z @ components",
                "    return torch.einsum('nk,kd->nd', z, components) + mean",
                "pca.pca_reconstruct", "test_pca_reconstruct"),
    Alternative("a sum over components, torch.tensor on a tensor (warns)", "pca_reconstruct",
                "    return mean + z @ components",
                "    out = torch.tensor(mean).expand(z.shape[0], -1).clone()\n"
                "    for j in range(components.shape[0]):\n"
                "        out = out + z[:, j:j + 1] * components[j]\n"
                "    return out",
                "pca.pca_reconstruct", "test_pca_reconstruct", warns=True),
]
