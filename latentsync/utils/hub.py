"""Whether the Hugging Face hub can be reached: one request, no retries, so offline runs fail in seconds."""

from __future__ import annotations

import urllib.error
import urllib.request

CONNECT_TIMEOUT_SECONDS = 10


def hub_unreachable_reason() -> str | None:
    """Why the hub cannot be reached (offline mode, or one failed request), or ``None`` when it answers at all."""
    from huggingface_hub import constants

    if constants.HF_HUB_OFFLINE:
        return "HF_HUB_OFFLINE is set"
    try:
        urllib.request.urlopen(urllib.request.Request(constants.ENDPOINT, method="HEAD"),
                               timeout=CONNECT_TIMEOUT_SECONDS).close()
    except urllib.error.HTTPError:
        return None  # it answered, even if not with 200
    except (OSError, ValueError) as error:  # URLError, timeouts, refused connections, a malformed HF_ENDPOINT
        return f"{constants.ENDPOINT} is unreachable ({getattr(error, 'reason', error)})"
    return None
