"""Command-line entry points of the data-processing pipeline (the library is ``latentsync.data_processing``)."""
