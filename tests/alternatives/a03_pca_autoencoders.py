from . import Alternative

LOOP = """    for _ in range(iters):
        q, _ = torch.linalg.qr(cov @ q)
    # Rayleigh-Ritz: the best directions inside span(q), from the (k, k) covariance there
    _, vectors = torch.linalg.eigh(q.T @ cov @ q)                           # ascending eigenvalues
    return (q @ vectors.flip(1)).T"""

WHITEN = """    values, vectors = torch.linalg.eigh(cov)                          # C = V diag(values) V^T
    w = vectors @ torch.diag((values + eps) ** -0.5) @ vectors.T      # (C + eps I)^(-1/2), symmetric
    return xc @ w"""

ALTERNATIVES = [
    Alternative("one vector at a time, deflated by Gram-Schmidt against the earlier ones", "pca_power_iteration",
                LOOP,
                "    found = []\n"
                "    for j in range(k):\n"
                "        v = q[:, j]\n"
                "        for _ in range(iters):\n"
                "            v = cov @ v\n"
                "            for u in found:\n"
                "                v = v - (u @ v) * u\n"
                "            v = v / v.norm()\n"
                "        found.append(v)\n"
                "    return torch.stack(found)",
                "pca.pca_power_iteration", "test_pca_power_iteration"),
    Alternative("orthogonal iteration without Rayleigh-Ritz, products with x_c (no covariance matrix)",
                "pca_power_iteration", LOOP,
                "    for _ in range(iters):\n"
                "        q, _ = torch.linalg.qr(xc.T @ (xc @ q))\n"
                "    return q.T.contiguous()",
                "pca.pca_power_iteration", "test_pca_power_iteration"),
    Alternative("numpy inside, torch.tensor on a tensor (warns)", "pca_power_iteration", LOOP,
                "    import numpy as np\n"
                "    c, block = torch.tensor(cov).numpy(), q.numpy()\n"
                "    for _ in range(iters):\n"
                "        block, _ = np.linalg.qr(c @ block)\n"
                "    return torch.from_numpy(np.ascontiguousarray(block.T))",
                "pca.pca_power_iteration", "test_pca_power_iteration", warns=True),
    Alternative("scipy's symmetric inverse square root", "zca_whiten", WHITEN,
                "    from scipy import linalg\n"
                "    root = linalg.sqrtm((cov + eps * torch.eye(x.shape[1], dtype=x.dtype)).numpy()).real\n"
                "    return torch.linalg.solve(torch.from_numpy(root).to(x.dtype), xc.T).T",
                "pca.zca_whiten", "test_zca_whiten"),
    Alternative("rotate, rescale, rotate back, step by step, torch.tensor on a tensor (warns)", "zca_whiten",
                WHITEN,
                "    values, vectors = torch.linalg.eigh(torch.tensor(cov))\n"
                "    coordinates = xc @ vectors                        # along the principal axes\n"
                "    coordinates = coordinates / (values + eps).sqrt()\n"
                "    return coordinates @ vectors.T",
                "pca.zca_whiten", "test_zca_whiten", warns=True),
]
