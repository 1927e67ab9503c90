from . import Alternative

ALTERNATIVES = [
    Alternative("torch.distributions' Bernoulli log_prob", "discriminator_loss_from_probs",
                "    return -torch.log(real_probs).mean() - torch.log(1 - fake_probs).mean()",
                "    B = torch.distributions.Bernoulli\n"
                "    return (-B(probs=real_probs).log_prob(torch.ones_like(real_probs)).mean()\n"
                "            - B(probs=fake_probs).log_prob(torch.zeros_like(fake_probs)).mean())",
                "gan.discriminator_loss_from_probs", "test_discriminator_loss_from_probs"),
    Alternative("log1p, torch.tensor on a tensor (warns)", "generator_loss_from_probs",
                "    return torch.log(1 - fake_probs).mean()",
                "    return torch.log1p(-torch.tensor(fake_probs)).mean() if not fake_probs.requires_grad "
                "else torch.log1p(-fake_probs).mean()",
                "gan.generator_loss_from_probs", "test_generator_loss_from_probs", warns=True),
    Alternative("relu instead of clamp, norm by hand", "one_sided_gradient_penalty",
                """    norm = grad.norm(dim=1)
    return torch.clamp(norm - 1, min=0).pow(2).mean()""",
                """    norm = torch.sqrt((grad ** 2).sum(dim=1))
    return (torch.relu(norm - 1) ** 2).mean()""",
                "gan.one_sided_gradient_penalty", "test_one_sided_gradient_penalty"),
    Alternative("fakes made under no_grad", "discriminator_step_loss",
                "    fake = generator_net(z).detach()",
                "    with torch.no_grad():\n        fake = generator_net(z)",
                "gan.discriminator_step_loss", "test_discriminator_step_loss"),
]
