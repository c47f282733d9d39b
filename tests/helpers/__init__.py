"""What the tests share: builders of tiny models, clips and datasets, launchers, and the paths of ../shared.

Test modules import from here and never from one another; nothing here is a test.
"""
