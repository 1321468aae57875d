#!/usr/bin/env python3
"""Writes parity fixtures for Unlearn.Models: tiny random-weight models of each family in Hugging Face layout
(config.json + safetensors) and the logits of an independent plain-PyTorch reference forward pass.

The reference passes follow the published Hugging Face architectures (GPT2LMHeadModel, LlamaForCausalLM,
Qwen2ForCausalLM, PhiForCausalLM) written out by hand, because `transformers` is not installed. They run in
float64 on the weights exactly as stored (after any bf16/f16 rounding), so the C# float32 runtime must match
them to ~1e-5.

Usage: python3 scripts/parity/make_fixtures.py [output_dir]
(default: tests/Unlearn.Models.Tests/Fixtures). Needs only torch (Debian python3-torch).
"""
import json
import math
import os
import struct
import sys

import torch

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "..", "tests", "Unlearn.Models.Tests", "Fixtures")
VOCAB = 64
INPUT_IDS = [[1, 5, 9, 33, 2, 61, 17, 8, 40, 3], [7, 7, 12, 0, 55, 23, 9, 31, 44, 63]]

DTYPES = {torch.float32: ("F32", 4), torch.float16: ("F16", 2), torch.bfloat16: ("BF16", 2)}


def write_safetensors(path, tensors, metadata=None):
    """Minimal safetensors writer (names sorted, data contiguous, header padded to 8 bytes)."""
    header, blobs, offset = {}, [], 0
    if metadata:
        header["__metadata__"] = metadata
    for name in sorted(tensors):
        t = tensors[name].contiguous()
        code, size = DTYPES[t.dtype]
        raw = t.view(torch.int16).numpy().tobytes() if size == 2 else t.numpy().tobytes()
        header[name] = {"dtype": code, "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def gelu_new(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


def layer_norm(x, w, b, eps):
    mean = x.mean(-1, keepdim=True)
    var = ((x - mean) ** 2).mean(-1, keepdim=True)
    return (x - mean) / torch.sqrt(var + eps) * w + b


def rms_norm(x, w, eps):
    return w * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps))


def causal_attention(q, k, v):
    """q, k, v: [B, H, T, D] -> [B, H, T, D] with a causal mask."""
    t = q.shape[2]
    scores = q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1])
    mask = torch.triu(torch.ones(t, t, dtype=torch.bool), 1)
    scores = scores.masked_fill(mask, float("-inf"))
    return torch.softmax(scores, -1) @ v


def rope_inv_freq(cfg, dim):
    base = cfg.get("rope_theta", 10000.0)
    inv = 1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.int64).float() / dim))
    rs = cfg.get("rope_scaling")
    if rs:
        kind = rs.get("rope_type", rs.get("type"))
        factor = rs["factor"]
        if kind == "linear":
            inv = inv / factor
        elif kind == "llama3":
            old = rs["original_max_position_embeddings"]
            lo, hi = rs["low_freq_factor"], rs["high_freq_factor"]
            low_wl, high_wl = old / lo, old / hi
            wl = 2 * math.pi / inv
            inv_l = torch.where(wl > low_wl, inv / factor, inv)
            smooth = (old / wl - lo) / (hi - lo)
            smoothed = (1 - smooth) * inv_l / factor + smooth * inv_l
            medium = ~(wl < high_wl) * ~(wl > low_wl)
            inv = torch.where(medium, smoothed, inv_l)
    return inv.double()


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), -1)


def apply_rotary(x, cos, sin, rot):
    xr, xp = x[..., :rot], x[..., rot:]
    return torch.cat((xr * cos + rotate_half(xr) * sin, xp), -1)


def gpt2_forward(cfg, w, ids):
    n, hds = cfg["n_embd"], cfg["n_head"]
    d = n // hds
    b, t = ids.shape
    x = w["transformer.wte.weight"][ids] + w["transformer.wpe.weight"][torch.arange(t)]
    for i in range(cfg["n_layer"]):
        p = f"transformer.h.{i}."
        h = layer_norm(x, w[p + "ln_1.weight"], w[p + "ln_1.bias"], cfg["layer_norm_epsilon"])
        qkv = h @ w[p + "attn.c_attn.weight"] + w[p + "attn.c_attn.bias"]
        q, k, v = (z.view(b, t, hds, d).transpose(1, 2) for z in qkv.split(n, -1))
        o = causal_attention(q, k, v).transpose(1, 2).reshape(b, t, n)
        x = x + o @ w[p + "attn.c_proj.weight"] + w[p + "attn.c_proj.bias"]
        h = layer_norm(x, w[p + "ln_2.weight"], w[p + "ln_2.bias"], cfg["layer_norm_epsilon"])
        m = gelu_new(h @ w[p + "mlp.c_fc.weight"] + w[p + "mlp.c_fc.bias"])
        x = x + m @ w[p + "mlp.c_proj.weight"] + w[p + "mlp.c_proj.bias"]
    x = layer_norm(x, w["transformer.ln_f.weight"], w["transformer.ln_f.bias"], cfg["layer_norm_epsilon"])
    return x @ w["transformer.wte.weight"].T


def linear(x, w, name):
    y = x @ w[name + ".weight"].T
    return y + w[name + ".bias"] if name + ".bias" in w else y


def rotary_forward(cfg, w, ids):
    """llama / qwen2 / phi."""
    phi = cfg["model_type"] == "phi"
    hid, hds = cfg["hidden_size"], cfg["num_attention_heads"]
    kvh = cfg.get("num_key_value_heads") or hds
    d = hid // hds
    rot = int(d * cfg.get("partial_rotary_factor", 1.0)) if phi else d
    b, t = ids.shape
    inv = rope_inv_freq(cfg, rot)
    freqs = torch.arange(t, dtype=torch.float64)[:, None] * inv[None, :]
    emb = torch.cat((freqs, freqs), -1)
    cos, sin = emb.cos()[None, None], emb.sin()[None, None]
    x = w["model.embed_tokens.weight"][ids]
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}."
        if phi:
            h = layer_norm(x, w[p + "input_layernorm.weight"], w[p + "input_layernorm.bias"], cfg["layer_norm_eps"])
        else:
            h = rms_norm(x, w[p + "input_layernorm.weight"], cfg["rms_norm_eps"])
        q = linear(h, w, p + "self_attn.q_proj").view(b, t, hds, d).transpose(1, 2)
        k = linear(h, w, p + "self_attn.k_proj").view(b, t, kvh, d).transpose(1, 2)
        v = linear(h, w, p + "self_attn.v_proj").view(b, t, kvh, d).transpose(1, 2)
        q, k = apply_rotary(q, cos, sin, rot), apply_rotary(k, cos, sin, rot)
        k = k.repeat_interleave(hds // kvh, 1)
        v = v.repeat_interleave(hds // kvh, 1)
        o = causal_attention(q, k, v).transpose(1, 2).reshape(b, t, hid)
        if phi:
            attn = linear(o, w, p + "self_attn.dense")
            ff = linear(gelu_new(linear(h, w, p + "mlp.fc1")), w, p + "mlp.fc2")
            x = x + attn + ff
        else:
            x = x + linear(o, w, p + "self_attn.o_proj")
            h = rms_norm(x, w[p + "post_attention_layernorm.weight"], cfg["rms_norm_eps"])
            gate = linear(h, w, p + "mlp.gate_proj")
            x = x + linear(torch.nn.functional.silu(gate) * linear(h, w, p + "mlp.up_proj"), w, p + "mlp.down_proj")
    if phi:
        x = layer_norm(x, w["model.final_layernorm.weight"], w["model.final_layernorm.bias"], cfg["layer_norm_eps"])
    else:
        x = rms_norm(x, w["model.norm.weight"], cfg["rms_norm_eps"])
    if cfg.get("tie_word_embeddings", False):
        return x @ w["model.embed_tokens.weight"].T
    return linear(x, w, "lm_head")


def random_weights(shapes, seed, dtype):
    g = torch.Generator().manual_seed(seed)
    out = {}
    for name, shape in shapes.items():
        if len(shape) == 1 and ("norm" in name or "ln_" in name) and name.endswith(".weight"):
            t = 1.0 + 0.1 * torch.randn(shape, generator=g)
        elif len(shape) == 1:
            t = 0.1 * torch.randn(shape, generator=g)
        else:
            t = 0.2 * torch.randn(shape, generator=g)
        out[name] = t.to(dtype)
    return out


def gpt2_shapes(c):
    n, inner = c["n_embd"], 4 * c["n_embd"]
    s = {"transformer.wte.weight": (c["vocab_size"], n), "transformer.wpe.weight": (c["n_positions"], n),
         "transformer.ln_f.weight": (n,), "transformer.ln_f.bias": (n,)}
    for i in range(c["n_layer"]):
        p = f"transformer.h.{i}."
        s.update({p + "ln_1.weight": (n,), p + "ln_1.bias": (n,), p + "ln_2.weight": (n,), p + "ln_2.bias": (n,),
                  p + "attn.c_attn.weight": (n, 3 * n), p + "attn.c_attn.bias": (3 * n,),
                  p + "attn.c_proj.weight": (n, n), p + "attn.c_proj.bias": (n,),
                  p + "mlp.c_fc.weight": (n, inner), p + "mlp.c_fc.bias": (inner,),
                  p + "mlp.c_proj.weight": (inner, n), p + "mlp.c_proj.bias": (n,)})
    return s


def rotary_shapes(c):
    phi = c["model_type"] == "phi"
    h, inter, hds = c["hidden_size"], c["intermediate_size"], c["num_attention_heads"]
    kv = (c.get("num_key_value_heads") or hds) * (h // hds)
    qkv_bias = phi or c["model_type"] == "qwen2" or c.get("attention_bias", False)
    s = {"model.embed_tokens.weight": (c["vocab_size"], h)}
    for i in range(c["num_hidden_layers"]):
        p = f"model.layers.{i}."
        s.update({p + "self_attn.q_proj.weight": (h, h), p + "self_attn.k_proj.weight": (kv, h), p + "self_attn.v_proj.weight": (kv, h)})
        if qkv_bias:
            s.update({p + "self_attn.q_proj.bias": (h,), p + "self_attn.k_proj.bias": (kv,), p + "self_attn.v_proj.bias": (kv,)})
        s[p + "input_layernorm.weight"] = (h,)
        if phi:
            s.update({p + "self_attn.dense.weight": (h, h), p + "self_attn.dense.bias": (h,), p + "input_layernorm.bias": (h,),
                      p + "mlp.fc1.weight": (inter, h), p + "mlp.fc1.bias": (inter,), p + "mlp.fc2.weight": (h, inter), p + "mlp.fc2.bias": (h,)})
        else:
            s.update({p + "self_attn.o_proj.weight": (h, h), p + "post_attention_layernorm.weight": (h,),
                      p + "mlp.gate_proj.weight": (inter, h), p + "mlp.up_proj.weight": (inter, h), p + "mlp.down_proj.weight": (h, inter)})
    if phi:
        s.update({"model.final_layernorm.weight": (h,), "model.final_layernorm.bias": (h,)})
    else:
        s["model.norm.weight"] = (h,)
    if not c.get("tie_word_embeddings", False):
        s["lm_head.weight"] = (c["vocab_size"], h)
        if phi:
            s["lm_head.bias"] = (c["vocab_size"],)
    return s


FIXTURES = [
    ("gpt2", torch.float32, 1, {"model_type": "gpt2", "n_embd": 32, "n_layer": 2, "n_head": 4, "n_positions": 32,
                                "vocab_size": VOCAB, "layer_norm_epsilon": 1e-5, "activation_function": "gelu_new", "eos_token_id": 0}),
    ("llama", torch.bfloat16, 1, {"model_type": "llama", "hidden_size": 32, "intermediate_size": 48, "num_hidden_layers": 2,
                                  "num_attention_heads": 4, "num_key_value_heads": 2, "max_position_embeddings": 32, "vocab_size": VOCAB,
                                  "rms_norm_eps": 1e-6, "rope_theta": 10000.0, "tie_word_embeddings": False, "hidden_act": "silu",
                                  "rope_scaling": {"rope_type": "llama3", "factor": 8.0, "original_max_position_embeddings": 16,
                                                   "low_freq_factor": 1.0, "high_freq_factor": 4.0},
                                  "bos_token_id": 1, "eos_token_id": 2}),
    ("qwen2", torch.float16, 2, {"model_type": "qwen2", "hidden_size": 32, "intermediate_size": 48, "num_hidden_layers": 2,
                                 "num_attention_heads": 4, "num_key_value_heads": 1, "max_position_embeddings": 32, "vocab_size": VOCAB,
                                 "rms_norm_eps": 1e-6, "rope_theta": 1000000.0, "tie_word_embeddings": True, "hidden_act": "silu",
                                 "rope_scaling": {"type": "linear", "factor": 2.0}}),
    ("phi", torch.float32, 1, {"model_type": "phi", "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2,
                               "num_attention_heads": 4, "max_position_embeddings": 32, "vocab_size": VOCAB, "layer_norm_eps": 1e-5,
                               "partial_rotary_factor": 0.5, "rope_theta": 10000.0, "hidden_act": "gelu_new",
                               "tie_word_embeddings": False}),
]


def main():
    ids = torch.tensor(INPUT_IDS)
    for seed, (name, dtype, shards, cfg) in enumerate(FIXTURES):
        d = os.path.join(OUT, name)
        os.makedirs(d, exist_ok=True)
        shapes = gpt2_shapes(cfg) if cfg["model_type"] == "gpt2" else rotary_shapes(cfg)
        weights = random_weights(shapes, 1000 + seed, dtype)
        with open(os.path.join(d, "config.json"), "w") as f:
            json.dump(cfg, f, indent=2)
        names = sorted(weights)
        if shards == 1:
            write_safetensors(os.path.join(d, "model.safetensors"), weights, {"format": "pt"})
        else:
            weight_map = {}
            per = (len(names) + shards - 1) // shards
            for s in range(shards):
                part = names[s * per:(s + 1) * per]
                file = f"model-{s + 1:05d}-of-{shards:05d}.safetensors"
                write_safetensors(os.path.join(d, file), {n: weights[n] for n in part}, {"format": "pt"})
                weight_map.update({n: file for n in part})
            with open(os.path.join(d, "model.safetensors.index.json"), "w") as f:
                json.dump({"metadata": {}, "weight_map": weight_map}, f, indent=2)
        w64 = {k: v.double() for k, v in weights.items()}
        with torch.no_grad():
            logits = gpt2_forward(cfg, w64, ids) if cfg["model_type"] == "gpt2" else rotary_forward(cfg, w64, ids)
        expected = {"input_ids": INPUT_IDS, "shape": list(logits.shape),
                    "logits": [round(float(v), 7) for v in logits.reshape(-1)], "torch": torch.__version__}
        with open(os.path.join(d, "expected.json"), "w") as f:
            json.dump(expected, f)
        print(name, dtype, "params", sum(v.numel() for v in weights.values()), "logit std", float(logits.std()))


if __name__ == "__main__":
    main()
