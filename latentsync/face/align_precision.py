"""The precisions face alignment and paste-back can run in, by name (``--align_dtype``); apart from the warp
(torch) so the lip-sync settings and ``--help`` read them without loading it."""

ALIGN_PRECISIONS = ("float32", "float16")  # float32: the default, more precise; float16: the original's
