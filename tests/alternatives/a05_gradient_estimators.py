from . import Alternative

SCORE = "    return weight * eps / sigma, weight * (eps ** 2 - 1)"
PATH = """    z = (mu.detach() + sigma * eps).requires_grad_(True)
    (grad_z,) = torch.autograd.grad(f(z).sum(), z)     # row i is the gradient of f at z_i
    return grad_z, grad_z * sigma * eps"""

ALTERNATIVES = [
    Alternative("autograd of torch.distributions' log_prob instead of the closed-form score",
                "score_function_grad", SCORE,
                "    m = mu.detach().expand(n, *mu.shape).clone().requires_grad_(True)\n"
                "    s = log_sigma.detach().expand(n, *mu.shape).clone().requires_grad_(True)\n"
                "    log_prob = torch.distributions.Normal(m, torch.exp(s)).log_prob(z.detach())\n"
                "    g_mu, g_s = torch.autograd.grad(log_prob.sum(), (m, s))\n"
                "    return weight * g_mu, weight * g_s",
                "estimators.score_function_grad", "test_score_function_grad"),
    Alternative("closed form with torch.tensor on a tensor (warns)", "score_function_grad", SCORE,
                "    eps = torch.tensor(eps)\n"
                "    return weight * (z - mu).detach() / sigma ** 2, weight * (eps * eps - 1)",
                "estimators.score_function_grad", "test_score_function_grad", warns=True),
    Alternative("autograd through per-sample copies of the parameters", "pathwise_grad", PATH,
                "    m = mu.detach().expand(n, *mu.shape).clone().requires_grad_(True)\n"
                "    s = log_sigma.detach().expand(n, *mu.shape).clone().requires_grad_(True)\n"
                "    z = m + torch.exp(s) * eps\n"
                "    return torch.autograd.grad(f(z).sum(), (m, s))",
                "estimators.pathwise_grad", "test_pathwise_grad"),
]
