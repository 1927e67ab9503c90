from . import Alternative

MASK = """    mask = torch.zeros(kernel_height, kernel_width)
    mask[:ch, :] = 1
    mask[ch, :cw] = 1
    if mask_type == "B":
        mask[ch, cw] = 1
    return mask"""

ALTERNATIVES = [
    Alternative("a Python loop over the raster order", "raster_mask", MASK,
                "    rows = []\n"
                "    for i in range(kernel_height):\n"
                "        rows.append([1.0 if (i < ch or (i == ch and (j < cw or (j == cw and mask_type == 'B')))) else 0.0\n"
                "                     for j in range(kernel_width)])\n"
                "    return torch.tensor(rows)",
                "autoregressive.raster_mask", "test_raster_mask"),
    Alternative("numpy inside", "raster_mask", MASK,
                "    import numpy as np\n"
                "    order = np.arange(kernel_height * kernel_width).reshape(kernel_height, kernel_width)\n"
                "    centre = ch * kernel_width + cw\n"
                "    keep = (order < centre) | ((order == centre) & (mask_type == 'B'))\n"
                "    return torch.from_numpy(keep.astype(np.float32))",
                "autoregressive.raster_mask", "test_raster_mask"),
    Alternative("log2 of e per dimension, torch.tensor on a tensor (warns)", "nats_to_bits_per_dim",
                "    return nll_nats / (num_dims * math.log(2))",
                "    return torch.tensor(nll_nats) * math.log2(math.e) / num_dims",
                "autoregressive.nats_to_bits_per_dim", "test_nats_to_bits_per_dim", warns=True),
    Alternative("two to the bits per token", "perplexity_from_nats",
                "    return torch.exp(nll_nats / num_tokens)",
                "    return torch.pow(2.0, torch.as_tensor(nll_nats) / (num_tokens * math.log(2)))",
                "autoregressive.perplexity_from_nats", "test_perplexity_from_nats"),
]
