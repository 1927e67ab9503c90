from . import Alternative

ALTERNATIVES = [
    Alternative("torch.where on the mask, log|det| from the scale", "coupling_forward",
                """    z = mask * x + (1 - mask) * (x * torch.exp(log_scale) + shift)
    log_det = ((1 - mask) * log_scale).sum(dim=-1)""",
                """    keep = mask.bool()
    z = torch.where(keep, x, x * torch.exp(log_scale) + shift)
    log_det = torch.log(torch.where(keep, torch.ones_like(log_scale), torch.exp(log_scale))).sum(dim=-1)""",
                "flows.coupling_forward", "test_coupling_forward"),
    Alternative("division by exp(log_scale), torch.tensor on the mask (warns)", "coupling_inverse",
                "    return mask * z + (1 - mask) * (z - shift) * torch.exp(-log_scale)",
                "    m = torch.tensor(mask, dtype=z.dtype)\n"
                "    return m * z + (1 - m) * (z - shift) / torch.exp(log_scale)",
                "flows.coupling_inverse", "test_coupling_inverse", warns=True),
    Alternative("torch.distributions' Normal for the base density", "flow_log_prob",
                "    log_base = -0.5 * (x ** 2).sum(dim=-1) - 0.5 * x.shape[1] * math.log(2 * math.pi)",
                "    log_base = torch.distributions.Normal(torch.zeros_like(x), torch.ones_like(x)).log_prob(x).sum(dim=-1)",
                "flows.flow_log_prob", "test_flow_log_prob"),
]
