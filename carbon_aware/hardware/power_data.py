"""Power of every accelerator Vertex AI offers, and of the machine shapes they come on, cited.

``max_watts`` is the card's (or chip's) datasheet TDP / maximum board power; ``min_watts`` its
idle power. Cloud Carbon Footprint (CCF) publishes both for the older cards
(packages/core/src/compute/ComputeProcessorTypes.ts); for the cards CCF does not list, the idle
figure is the datasheet TDP x :data:`IDLE_FRACTION`, the A100's CCF idle share (46 / 407 W), as
the same class of data-centre part, and the source says so. Watts are per unit of Vertex AI's
``accelerator_count``: a card for GPUs, a chip for TPU v5e, a TensorCore (half a chip) for TPU
v2 and v3, which Vertex counts in cores.
"""

from __future__ import annotations

from dataclasses import dataclass

IDLE_FRACTION = 46.0 / 407.0
CCF_GPU_SOURCE = "Cloud Carbon Footprint ComputeProcessorTypes.ts (min/max watts per card)"
_DERIVED_IDLE = "idle = TDP x 46/407 (the A100's CCF idle share)"


@dataclass(frozen=True)
class AcceleratorPower:
    """Idle and maximum power of one accelerator unit, in watts, and where they come from."""

    min_watts: float
    max_watts: float
    source: str


def _datasheet(tdp_watts: float, source: str) -> AcceleratorPower:
    return AcceleratorPower(
        round(tdp_watts * IDLE_FRACTION, 1), tdp_watts, f"{source}; {_DERIVED_IDLE}"
    )


# fmt: off
ACCELERATOR_POWER: dict[str, AcceleratorPower] = {
    "NVIDIA_TESLA_T4": AcceleratorPower(8.0, 71.0, CCF_GPU_SOURCE),
    "NVIDIA_TESLA_P4": AcceleratorPower(9.0, 76.5, CCF_GPU_SOURCE),
    "NVIDIA_TESLA_P100": AcceleratorPower(36.0, 306.0, CCF_GPU_SOURCE),
    "NVIDIA_TESLA_V100": AcceleratorPower(35.0, 306.0, CCF_GPU_SOURCE),
    "NVIDIA_TESLA_K80": AcceleratorPower(35.0, 306.0, CCF_GPU_SOURCE),
    "NVIDIA_TESLA_A100": AcceleratorPower(46.0, 407.0, CCF_GPU_SOURCE),
    "NVIDIA_A100_80GB": AcceleratorPower(46.0, 407.0, CCF_GPU_SOURCE),
    # CCF has no L4; 8 W idle reuses the T4's idle share, the L4 being its same-class successor.
    "NVIDIA_L4": AcceleratorPower(
        8.0, 72.0, "NVIDIA L4 datasheet: max power 72 W; idle = the T4's CCF idle share"
    ),
    "NVIDIA_H100_80GB": _datasheet(700.0, "NVIDIA H100 datasheet: H100 SXM max TDP up to 700 W"),
    "NVIDIA_H100_MEGA_80GB": _datasheet(
        700.0, "NVIDIA H100 datasheet: H100 SXM max TDP up to 700 W (A3 Mega)"
    ),
    "NVIDIA_H200_141GB": _datasheet(
        700.0, "NVIDIA H200 datasheet: H200 SXM max TDP up to 700 W"
    ),
    "NVIDIA_B200": _datasheet(
        1000.0, "NVIDIA HGX B200 specification: up to 1,000 W per B200 GPU"
    ),
    "NVIDIA_GB200": _datasheet(
        1200.0,
        "NVIDIA GB200 NVL72 specification: superchip (1 Grace CPU + 2 Blackwell GPUs) up to "
        "2,700 W; 1,200 W per GPU",
    ),
    "NVIDIA_RTX_PRO_6000": _datasheet(
        600.0, "NVIDIA RTX PRO 6000 Blackwell Server Edition datasheet: max power up to 600 W"
    ),
    # Jouppi et al., "A domain-specific supercomputer for training deep neural networks",
    # CACM 63(7), 2020, Table 3: chip TDP 280 W (v2) and 450 W (v3); two TensorCores per chip.
    "TPU_V2": _datasheet(140.0, "Jouppi et al. CACM 2020: TPU v2 chip TDP 280 W / 2 cores"),
    "TPU_V3": _datasheet(225.0, "Jouppi et al. CACM 2020: TPU v3 chip TDP 450 W / 2 cores"),
    # Google publishes no TPU v5e TDP: the TPU v4 chip's maximum (Jouppi et al., "TPU v4",
    # ISCA 2023: 192 W) stands in, labelled as a proxy.
    "TPU_V5_LITEPOD": _datasheet(
        192.0, "no published TPU v5e TDP; proxy: TPU v4 chip max 192 W (Jouppi et al. ISCA 2023)"
    ),
}
# GB of memory per vCPU of predefined machine families (cloud.google.com/compute/docs).
MEMORY_GB_PER_VCPU: dict[str, float] = {
    "n1-standard": 3.75, "n1-highmem": 6.5, "n1-highcpu": 0.9,
    "e2-standard": 4.0, "e2-highmem": 8.0, "e2-highcpu": 1.0,
    "n2-standard": 4.0, "n2-highmem": 8.0, "n2-highcpu": 1.0,
    "n2d-standard": 4.0, "c2-standard": 4.0, "g2-standard": 4.0,
}
# Accelerator-optimised shapes whose memory is not a multiple of the vCPU count: (vCPUs, GB),
# from cloud.google.com/compute/docs/accelerator-optimized-machines and .../tpus.
FIXED_SHAPES: dict[str, tuple[int, float]] = {
    "a2-highgpu-1g": (12, 85.0), "a2-highgpu-2g": (24, 170.0), "a2-highgpu-4g": (48, 340.0),
    "a2-highgpu-8g": (96, 680.0), "a2-megagpu-16g": (96, 1360.0),
    "a2-ultragpu-1g": (12, 170.0), "a2-ultragpu-2g": (24, 340.0),
    "a2-ultragpu-4g": (48, 680.0), "a2-ultragpu-8g": (96, 1360.0),
    "a3-highgpu-1g": (26, 234.0), "a3-highgpu-2g": (52, 468.0),
    "a3-highgpu-4g": (104, 936.0), "a3-highgpu-8g": (208, 1872.0),
    "a3-megagpu-8g": (208, 1872.0), "a3-ultragpu-8g": (224, 2952.0),
    "a4-highgpu-8g": (224, 3968.0), "g4-standard-48": (48, 180.0),
    "ct5lp-hightpu-1t": (24, 48.0), "ct5lp-hightpu-4t": (112, 192.0),
    "ct5lp-hightpu-8t": (224, 384.0), "cloud-tpu": (96, 340.0),
}
# fmt: on
