from . import Alternative

BODY = """    u = u / u.norm(dim=1, keepdim=True)
    v = v / v.norm(dim=1, keepdim=True)
    logits = u @ v.T / temperature                                         # (N, N)"""

ALTERNATIVES = [
    Alternative("cosine_similarity by broadcasting", "multi_positive_nce", BODY,
                "    logits = torch.nn.functional.cosine_similarity(u[:, None, :], v[None, :, :], dim=-1) / temperature",
                "contrastive.multi_positive_nce", "test_multi_positive_nce"),
    Alternative("a Python loop over anchors with cross_entropy", "multi_positive_nce",
                "    if symmetric:\n        return (loss_uv.mean() + loss_vu.mean()) / 2",
                "    F = torch.nn.functional\n"
                "    rows = []\n"
                "    for i in range(len(labels)):\n"
                "        pos = (labels == labels[i]).nonzero().flatten()\n"
                "        rows.append(torch.stack([F.cross_entropy(logits[i:i + 1], j.view(1)) for j in pos]).mean())\n"
                "    loss_uv = torch.stack(rows)\n"
                "    if symmetric:\n        return (loss_uv.mean() + loss_vu.mean()) / 2",
                "contrastive.multi_positive_nce", "test_multi_positive_nce"),
]
ALTERNATIVES.append(
    Alternative("F.normalize, torch.tensor on the labels (warns)", "multi_positive_nce", BODY,
                "    labels = torch.tensor(labels)\n"
                "    u = torch.nn.functional.normalize(u, dim=1)\n"
                "    v = torch.nn.functional.normalize(v, dim=1)\n"
                "    logits = u @ v.T / temperature",
                "contrastive.multi_positive_nce", "test_multi_positive_nce", warns=True))
