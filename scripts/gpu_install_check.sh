#!/usr/bin/env bash
# The package as a user installs it on a GPU machine without LLVM: a fresh
# virtual environment over the machine's torch, `pip install
# --no-build-isolation ./python` (the operators compile against that torch;
# the libraries come from python/iabn/_lib, copied there by the build), then
# the installed package from outside the source tree: the smoke test of
# test/python/install.test, and convert() + a CUDA training step of a
# torchvision ResNet-18. Exits non-zero on failure.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
venv=$(mktemp -d)/venv
python3 -m venv --system-site-packages "$venv"
# Where python3 is itself a virtual environment (the GPU machine's torch
# lives in one), the new one sees its packages through a .pth file.
parent=$(python3 -c 'import site, sys; print(site.getsitepackages()[0] if sys.prefix != sys.base_prefix else "")')
if [ -n "$parent" ]; then
  echo "$parent" > "$("$venv/bin/python" -c 'import site; print(site.getsitepackages()[0])')/parent-env.pth"
fi
"$venv/bin/python" -m pip install -q --no-build-isolation --no-deps \
  --no-index ./python
cd "$(dirname "$venv")"
env -u IABN_LIB_DIR -u PYTHONPATH VIRTUAL_ROOT="$venv" \
  EXAMPLE="$repo/examples/preact_residual_block.mlir" \
  "$venv/bin/python" "$repo/test/python/installed_smoke.py"
env -u IABN_LIB_DIR -u PYTHONPATH "$venv/bin/python" - <<'PY'
import torch, torchvision
from iabn.torch import InPlaceABN, convert, _native
model = torchvision.models.resnet18(num_classes=10)
converted, _ = convert(model, torch.randn(2, 3, 64, 64), verbose=False)
converted = converted.cuda()
opt = torch.optim.SGD(converted.parameters(), lr=0.1)
for _ in range(3):
    x = torch.randn(16, 3, 64, 64, device="cuda")
    loss = converted(x).logsumexp(1).mean()
    loss.backward()
    opt.step()
    opt.zero_grad()
torch.cuda.synchronize()
print("CUDA kernels:", _native.has_cuda_kernels(), "layers:",
      sum(isinstance(m, InPlaceABN) for m in converted.modules()),
      "loss finite:", bool(torch.isfinite(loss)))
PY
