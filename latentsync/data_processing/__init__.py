"""Raw talking-head videos -> training clips: resample, shots, segments, face alignment, sync and quality filters.

Each stage is a function of one clip (``Stage.process``); ``driver.run_pipeline`` runs the stages in order over
a folder, records every decision in a per-stage ledger and resumes where an interrupted run stopped.
"""
