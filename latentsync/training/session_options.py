"""The choices of a training session's ``--report_to`` and ``--mixed_precision``, apart from the session's code
(torch, matplotlib) so the trainers' ``--help`` reads them without loading it."""

REPORT_TO = ("none", "tensorboard")
MIXED_PRECISION = ("auto", "fp16", "bf16", "no")
"""auto: fp16 on CUDA (as the original), fp32 elsewhere; bf16 where supported; no: fp32."""
