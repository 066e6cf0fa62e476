"""Keep the embedding model's loading progress bars ("Loading weights …") out of command output:
`ask` prints replies, nothing else."""

from __future__ import annotations

import os
import sys


def quiet_model_loading() -> None:
    # Read by huggingface_hub and transformers when they are imported (torch is not imported yet here).
    os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    if "transformers" in sys.modules:  # already imported by someone: switch its bars off directly
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()
        transformers_logging.set_verbosity_error()
