"""The networks of the benchmarks: ResNet-50 and WideResNet-38 (A2, the
official inplace_abn library's `wider_resnet38_a2`, ImageNet head), with a
choice of normalization + activation:

  kind="bn"    nn.BatchNorm2d + nn.LeakyReLU(0.01): the baseline. Residual
               shortcuts use the block input directly.
  kind="iabn"  iabn.torch.InPlaceABN(leaky_relu 0.01) for every pair, as the
               official library's models do by hand: a pre-activation block
               whose shortcut is its input clones it first (the layer
               overwrites its input).

`apply_plan(model, plan)` turns a "bn" model into what iabn.torch.convert
decided for it (bench/convert_plan.py writes the plan on a machine with the
compiler library): the automatic conversion, without the compiler at hand.
"""

from functools import partial

import torch
from torch import nn

from iabn.torch import InPlaceABN
from iabn.torch.nn import share_state


def norm_act(kind, channels, activation="leaky_relu"):
    if kind == "iabn":
        return InPlaceABN(channels, activation=activation,
                          activation_param=0.01, gamma_mode="sign_clamp")
    layers = [nn.BatchNorm2d(channels)]
    if activation == "leaky_relu":
        layers.append(nn.LeakyReLU(0.01))
    return nn.Sequential(*layers)


#===-------------------------------------------------------------------===#
# ResNet-50 (post-activation bottlenecks, LeakyReLU instead of ReLU)
#===-------------------------------------------------------------------===#

class Bottleneck(nn.Module):
    def __init__(self, kind, cin, mid, stride):
        super().__init__()
        cout = mid * 4
        self.conv1 = nn.Conv2d(cin, mid, 1, bias=False)
        self.bn1 = norm_act(kind, mid)
        self.conv2 = nn.Conv2d(mid, mid, 3, stride, 1, bias=False)
        self.bn2 = norm_act(kind, mid)
        self.conv3 = nn.Conv2d(mid, cout, 1, bias=False)
        self.bn3 = norm_act(kind, cout, activation="identity")
        self.down = None
        if stride != 1 or cin != cout:
            self.down = nn.Sequential(
                nn.Conv2d(cin, cout, 1, stride, bias=False),
                norm_act(kind, cout, activation="identity"))
        self.act = nn.LeakyReLU(0.01)

    def forward(self, x):
        shortcut = x if self.down is None else self.down(x)
        y = self.bn1(self.conv1(x))
        y = self.bn2(self.conv2(y))
        y = self.bn3(self.conv3(y))
        return self.act(y + shortcut)


class ResNet50(nn.Module):
    def __init__(self, kind, classes=1000):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 64, 7, 2, 3, bias=False),
                                  norm_act(kind, 64), nn.MaxPool2d(3, 2, 1))
        layers, cin = [], 64
        for mid, blocks, stride in ((64, 3, 1), (128, 4, 2), (256, 6, 2),
                                    (512, 3, 2)):
            for i in range(blocks):
                layers.append(Bottleneck(kind, cin, mid,
                                         stride if i == 0 else 1))
                cin = mid * 4
        self.layers = nn.Sequential(*layers)
        self.head = nn.Linear(cin, classes)

    def forward(self, x):
        x = self.layers(self.stem(x))
        return self.head(torch.flatten(nn.functional.adaptive_avg_pool2d(
            x, 1), 1))


#===-------------------------------------------------------------------===#
# WideResNet-38 A2 (pre-activation identity blocks)
#===-------------------------------------------------------------------===#

class IdentityResidualBlock(nn.Module):
    def __init__(self, kind, cin, channels, stride=1, dropout=None):
        super().__init__()
        self.clone_shortcut = kind == "iabn"
        bottleneck = len(channels) == 3
        self.bn1 = norm_act(kind, cin)
        if not bottleneck:
            layers = [("conv1", nn.Conv2d(cin, channels[0], 3, stride, 1,
                                          bias=False)),
                      ("bn2", norm_act(kind, channels[0])),
                      ("conv2", nn.Conv2d(channels[0], channels[1], 3, 1, 1,
                                          bias=False))]
            if dropout is not None:
                layers.insert(2, ("dropout", dropout()))
        else:
            layers = [("conv1", nn.Conv2d(cin, channels[0], 1, stride, 0,
                                          bias=False)),
                      ("bn2", norm_act(kind, channels[0])),
                      ("conv2", nn.Conv2d(channels[0], channels[1], 3, 1, 1,
                                          bias=False)),
                      ("bn3", norm_act(kind, channels[1])),
                      ("conv3", nn.Conv2d(channels[1], channels[2], 1, 1, 0,
                                          bias=False))]
            if dropout is not None:
                layers.insert(4, ("dropout", dropout()))
        self.convs = nn.Sequential(*[m for _, m in layers])
        self.proj_conv = None
        if stride != 1 or cin != channels[-1]:
            self.proj_conv = nn.Conv2d(cin, channels[-1], 1, stride, 0,
                                       bias=False)

    def forward(self, x):
        if self.proj_conv is not None:
            bn1 = self.bn1(x)
            shortcut = self.proj_conv(bn1)
        else:
            shortcut = x.clone() if self.clone_shortcut else x
            bn1 = self.bn1(x)
        return self.convs(bn1) + shortcut


class WiderResNet38(nn.Module):
    """wider_resnet38_a2: structure [3, 3, 6, 3, 1, 1]."""

    def __init__(self, kind, classes=1000, width=1.0):
        super().__init__()
        w = lambda *cs: tuple(max(1, int(c * width)) for c in cs)  # noqa
        structure = [3, 3, 6, 3, 1, 1]
        channels = [w(128, 128), w(256, 256), w(512, 512), w(512, 1024),
                    w(512, 1024, 2048), w(1024, 2048, 4096)]
        cin = w(64)[0]
        self.mod1 = nn.Conv2d(3, cin, 3, 1, 1, bias=False)
        mods = []
        for mod_id, num in enumerate(structure):
            blocks = []
            for block_id in range(num):
                stride = 2 if block_id == 0 and 2 <= mod_id <= 4 else 1
                drop = {4: partial(nn.Dropout2d, p=0.3),
                        5: partial(nn.Dropout2d, p=0.5)}.get(mod_id)
                blocks.append(IdentityResidualBlock(kind, cin,
                                                    channels[mod_id], stride,
                                                    drop))
                cin = channels[mod_id][-1]
            if mod_id < 2:
                blocks.insert(0, nn.MaxPool2d(3, 2, 1))
            mods.append(nn.Sequential(*blocks))
        self.mods = nn.Sequential(*mods)
        self.bn_out = norm_act(kind, cin)
        self.head = nn.Linear(cin, classes)

    def forward(self, x):
        x = self.bn_out(self.mods(self.mod1(x)))
        return self.head(torch.flatten(nn.functional.adaptive_avg_pool2d(
            x, 1), 1))


MODELS = {"resnet50": ResNet50, "wrn38": WiderResNet38}


def build(name, kind, **kwargs):
    return MODELS[name](kind, **kwargs)


def apply_plan(model, plan):
    """Replaces the modules a convert plan names: each BatchNorm2d by
    InPlaceABN(activation), each absorbed activation by nn.Identity."""
    modules = dict(model.named_modules())

    def replace(name, new):
        parent, _, child = name.rpartition(".")
        setattr(modules[parent] if parent else model, child, new)

    for entry in plan["replaced"]:
        bn = modules[entry["bn"]]
        layer = InPlaceABN(bn.num_features, bn.eps, bn.momentum, bn.affine,
                           bn.track_running_stats,
                           activation=entry["activation"],
                           activation_param=entry["param"],
                           gamma_mode="sign_clamp",
                           inplace=entry.get("inplace", True))
        replace(entry["bn"], share_state(layer, bn))
        if entry.get("absorbed"):
            replace(entry["absorbed"], nn.Identity())
    return model
